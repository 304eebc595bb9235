/**
 * The live feed: server-sent events (GET /api/events) to every open page. The whole view is read
 * at most once a second (view.ts) and sent when it changed; the journal of an operation in
 * progress is read as soon as it changes on disk (fs.watch on .switchyard/, no polling), so each
 * step reaches the page within moments of the command that runs it starting it. Each second also
 * sends a traffic point (traffic.ts) and, while a deploy is judged, its live watch's figures; the
 * health levels go out every HEALTH_EVERY_MS while a page is open (health.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { errorMessage } from '../errors.js';
import type { Engine } from '../run/context.js';
import { readTimeline, timelineFile, type Timeline } from '../state/timeline.js';
import { checkColours, HEALTH_EVERY_MS, type HealthView } from './health.js';
import { TrafficSeries } from './traffic.js';
import { collectView, readOperation, type DashboardView, type OperationView } from './view.js';

export const VIEW_INTERVAL_MS = 1_000;
const HEARTBEAT_MS = 15_000;
/** What makes the journal's reader look again: it, and the files an operation's end changes. */
const WATCHED = new Set(['journal.json', 'state.json', 'history.jsonl', 'lock']);

export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat = setInterval(() => {
    for (const c of this.clients) c.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);

  constructor() {
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Opens a stream and sends what it must start from. */
  add(res: ServerResponse, initial: Array<[string, unknown]>): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // The browser's EventSource reconnects after this long when the stream ends (a dashboard restart).
    res.write('retry: 1000\n\n');
    for (const [event, data] of initial) res.write(frame(event, data));
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  send(event: string, data: unknown): void {
    const f = frame(event, data);
    for (const c of this.clients) c.write(f);
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}

export function frame(event: string, data: unknown): string {
  // JSON has no raw newline, so one data line carries it.
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Reads the view and the journal, keeps the last of each, and pushes changes to the hub. */
export class Feed {
  view: DashboardView | undefined;
  operation: OperationView | null = null;
  readonly series = new TrafficSeries();
  health: HealthView | null = null;
  timeline: Timeline | null = null;
  private lastTimeline = 'null';
  private healthTimer: NodeJS.Timeout | undefined;
  private checking = false;
  private lastView = '';
  private lastOp = 'null';
  private timer: NodeJS.Timeout | undefined;
  private watcher: fs.FSWatcher | undefined;
  private reading = false;
  private opReading: Promise<void> | undefined;
  private opAgain = false;

  constructor(
    private readonly e: Engine,
    private readonly hub: EventHub,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    await this.readTimeline();
    this.timer = setInterval(() => void this.refresh(), VIEW_INTERVAL_MS);
    void this.checkHealth();
    this.healthTimer = setInterval(() => {
      if (this.hub.size > 0) void this.checkHealth();
    }, HEALTH_EVERY_MS);
    try {
      this.watcher = fs.watch(this.e.paths.dir, (_ev, name) => {
        const base = name ? path.basename(String(name)) : '';
        if (WATCHED.has(base)) this.readOperationNow();
        if (base === path.basename(timelineFile(this.e.paths))) void this.readTimeline();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // No .switchyard yet (not initialised): the once-a-second view still shows what there is.
    }
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.healthTimer);
    this.watcher?.close();
  }

  /** The whole view, once a second (a slow read is not stacked under the next). */
  async refresh(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const { view: v, stats } = await collectView(this.e);
      this.view = v;
      const point = this.series.add(Date.now(), stats, v.proxy.inFlight);
      this.hub.send('traffic', {
        point,
        watch: this.series.watch(this.operation, this.e.loaded.config.deploy.rollbackOn),
      });
      // The operation goes out from its own reader only: a view read before the journal's last
      // change must not send an older list of steps.
      this.readOperationNow();
      const { at: _at, ...rest } = v;
      const key = JSON.stringify(rest);
      if (key !== this.lastView) {
        this.lastView = key;
        this.hub.send('view', v);
      }
    } catch (err) {
      this.hub.send('problem', { message: errorMessage(err), at: new Date().toISOString() });
    } finally {
      this.reading = false;
    }
  }

  /** The last deploy's request timeline: read at start and whenever a deploy writes it. */
  async readTimeline(): Promise<void> {
    const t = (await readTimeline(this.e.paths)) ?? null;
    const key = t ? `${t.operation}:${t.endedAt}` : 'null';
    if (key === this.lastTimeline) return;
    this.lastTimeline = key;
    this.timeline = t;
    this.hub.send('timeline', t);
  }

  /** One round of the health levels per running colour (one at a time). */
  async checkHealth(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      this.health = await checkColours(this.e, this.view);
      this.hub.send('health', this.health);
    } finally {
      this.checking = false;
    }
  }

  /** The journal changed: read it now (one read at a time; a change during a read reads again after it). */
  readOperationNow(): void {
    if (this.opReading) {
      this.opAgain = true;
      return;
    }
    this.opReading = (async () => {
      do {
        this.opAgain = false;
        this.setOperation(await readOperation(this.e).catch(() => this.operation));
      } while (this.opAgain);
    })().finally(() => (this.opReading = undefined));
  }

  private setOperation(op: OperationView | null): void {
    const key = JSON.stringify(op);
    if (key === this.lastOp) return;
    this.lastOp = key;
    this.operation = op;
    this.hub.send('operation', op);
  }
}
