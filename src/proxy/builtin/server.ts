/**
 * The built-in reverse proxy: a public HTTP server that sends each request to the active colour's
 * backend for its route (or, during a canary split, to the canary colour for a sticky share of
 * clients), plus an optional preview listener serving the inactive colour. The routing table is
 * read once when a request starts, so a change is atomic: requests already running finish where
 * they started, every later one follows the new state.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Colour, Route } from '../../config/schema.js';
import { COLOURS } from '../../config/schema.js';
import { NO_FEATURES, type ProxyFeatures } from '../features.js';
import { applyCommand, checkColour, checkPercent, type ProxyCommand, type Routing } from '../transitions.js';
import type { TrafficStats } from '../stats.js';
import type { Backends, ConfigureOptions, DrainOptions, DrainResult, ProxyControl, ProxyStatus } from '../types.js';
import { Counters } from './counters.js';
import { checkBoolean, checkFeatures } from '../features-check.js';
import { forward, plainResponse } from './forward.js';
import { bind, createListener, DEFAULT_LIMITS, type ProxyLimits } from './listen.js';
import { checkMaintenanceMessage } from '../maintenance-page.js';
import { BackendPools } from './pools.js';
import { PreviewSlot, type PreviewChange } from './preview.js';
import { checkMaxBodySize, checkRoutes, type Listen, type ProxySnapshot } from './snapshot.js';
import { checkBackends } from '../saved.js';
import { type MetricsJson, TrafficMetrics } from './metrics.js';
import { buildTable, decide, type Table } from './table.js';
import { type RequestRecorder, TrafficWatch } from './watch.js';
import { proxyWebSocket, rejectUpgrade } from './websocket.js';

export {
  CLIENT_KEEPALIVE_MS,
  DEFAULT_LIMITS,
  HEADERS_TIMEOUT_MS,
  MAX_HEADER_SIZE,
  REQUEST_TIMEOUT_MS,
  type ProxyLimits,
} from './listen.js';
export const DRAIN_CLOSE_CODE = 1001;

export interface ProxyServerOptions {
  /** Called with the next state before a change is applied and acknowledged. */
  persist?: (snap: ProxySnapshot) => Promise<void>;
  limits?: Partial<ProxyLimits>;
}

type Listener = 'public' | 'preview';

export class ProxyServer implements ProxyControl {
  readonly counters = new Counters();
  private readonly pools = new BackendPools();
  private readonly watch = new TrafficWatch();
  /** Counting for Prometheus, always on while the snapshot names a metrics listener (proxy.metrics). */
  private readonly traffic: TrafficMetrics | undefined;
  /** The per-colour counts and the metrics, for a public request while the metrics are on. */
  private readonly both: RequestRecorder | undefined;
  private readonly server: http.Server;
  private readonly preview: PreviewSlot;
  private snap: ProxySnapshot;
  private table: Table;
  private changes: Promise<unknown> = Promise.resolve();
  private readonly onEnd = (colour: Colour) => this.counters.requestEnded(colour);

  private constructor(
    snap: ProxySnapshot,
    private readonly opts: ProxyServerOptions,
  ) {
    this.snap = snap;
    this.table = buildTable(snap);
    this.watch.set(snap.watching === true);
    if (snap.metrics !== undefined) {
      const m = new TrafficMetrics(() => this.counters.snapshot());
      const watch = this.watch;
      this.traffic = m;
      this.both = {
        record(colour, status, ms, failed, route) {
          watch.record(colour, status, ms, failed);
          m.live.record(colour, status, ms, failed, route);
        },
      };
    }
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const handlers = (l: Listener) => ({
      request: (req: http.IncomingMessage, res: http.ServerResponse, ec: boolean) => this.onRequest(req, res, ec, l),
      upgrade: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head, l),
    });
    this.server = createListener(limits, handlers('public'));
    this.preview = new PreviewSlot(() => createListener(limits, handlers('preview')));
  }

  /** Starts serving `snap` on its listen address (and preview address). Fails with PORT_IN_USE naming host:port. */
  static async start(snap: ProxySnapshot, opts: ProxyServerOptions = {}): Promise<ProxyServer> {
    const proxy = new ProxyServer(withListedBackends(snap), opts);
    const { host, port } = snap.listen;
    await bind(proxy.server, host, port, 'proxy', 'proxy.listen');
    try {
      (await proxy.preview.prepare(snap.features?.preview ?? null)).commit();
    } catch (err) {
      await new Promise<void>((r) => proxy.server.close(() => r()));
      throw err;
    }
    return proxy;
  }

  /** The address actually bound (differs from the snapshot when it asked for port 0). */
  get address(): Listen {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The preview listener's bound address, or undefined when there is none. */
  get previewAddress(): Listen | undefined {
    return this.preview.address;
  }

  private apply(snap: ProxySnapshot): void {
    const before = this.originsInUse();
    // One synchronous swap: a request sees either the old or the new state, never a mix.
    this.table = buildTable(snap);
    this.snap = snap;
    this.watch.set(snap.watching === true);
    const now = this.originsInUse();
    this.pools.close([...before].filter((o) => !now.has(o)));
  }

  /** The backend addresses of `colours`: every instance of every service. */
  private originsInUse(colours: readonly Colour[] = COLOURS): Set<string> {
    const out = new Set<string>();
    for (const c of colours) {
      for (const group of this.table.targets[c].values()) for (const t of group.items) out.add(t.origin);
    }
    return out;
  }

  private onRequest(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    expectContinue: boolean,
    listener: Listener,
  ): void {
    const t = this.table;
    const d = decide(t, req, listener);
    if (d.kind === 'reply') {
      plainResponse(res, d.status, d.text, d.colour);
      return;
    }
    if (d.kind === 'maintenance') {
      d.reply.send(res);
      return;
    }
    const colour = d.target.colour;
    this.counters.requestStarted(colour);
    forward(req, res, d.target, this.pools, 'http', this.onEnd, {
      maxBodySize: t.maxBodySize,
      expectContinue,
      extraHeaders: d.extra,
      recorder: this.recorderFor(d.counted),
      route: d.route,
      responses: this.counters,
    });
  }

  /**
   * Who hears how a request ended: the per-colour counts (every public request: the live watch and
   * the dashboard read them) and the metrics (every request, while enabled). A preview request
   * without metrics has no recorder, which costs the forwarder nothing, not even a clock.
   */
  private recorderFor(counted: boolean): RequestRecorder | undefined {
    const m = this.traffic;
    if (!counted) return m?.preview;
    return m === undefined ? this.watch : this.both;
  }

  private onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, listener: Listener): void {
    socket.on('error', () => socket.destroy());
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      rejectUpgrade(socket, 400, 'Bad Request: only WebSocket upgrades are supported');
      return;
    }
    const d = decide(this.table, req, listener);
    if (d.kind === 'reply') {
      rejectUpgrade(socket, d.status, d.text, d.colour);
      return;
    }
    if (d.kind === 'maintenance') {
      d.reply.reject(socket);
      return;
    }
    proxyWebSocket(req, socket, head, d.target, 'http', this.counters, d.extra);
  }

  /**
   * Changes run one at a time, and each is persisted before it takes effect. A change of the
   * preview address binds the new listener first: if that fails, nothing changed.
   */
  private change(next: (current: ProxySnapshot) => ProxySnapshot): Promise<void> {
    const run = this.changes.then(async () => {
      const snap = next(this.snap);
      const p: PreviewChange = await this.preview.prepare(snap.features?.preview ?? null);
      try {
        await this.opts.persist?.(snap);
      } catch (err) {
        await p.rollback();
        throw err;
      }
      this.apply(snap);
      p.commit();
    });
    this.changes = run.catch(() => {});
    return run;
  }

  /** A change of routing (proxy/transitions.ts), saved and applied as one change; `also` adds the rest. */
  private command(c: ProxyCommand, also: (s: ProxySnapshot) => ProxySnapshot = (s) => s): Promise<void> {
    return this.change((s) => {
      const before = routingOf(s);
      return also(withRouting(s, before, applyCommand(before, c)));
    });
  }

  async status(): Promise<ProxyStatus> {
    const { inFlight, websockets, streams } = this.counters.snapshot();
    const s = this.snap;
    const t = this.table;
    return {
      pid: process.pid,
      active: s.active,
      listen: { ...s.listen },
      routes: s.routes,
      backends: s.backends,
      inFlight,
      websockets,
      streams,
      maxBodySize: t.maxBodySize,
      canary: t.canary === null ? null : { ...t.canary },
      maintenance: s.maintenance ? { ...s.maintenance } : null,
      watching: this.watch.on,
      features: t.features,
      ...(s.metrics === undefined ? {} : { metrics: { ...s.metrics } }),
    };
  }

  /** This process's traffic metrics for the daemon's /metrics (metrics.ts); none while proxy.metrics is off. */
  async metrics(): Promise<MetricsJson[]> {
    return this.traffic === undefined ? [] : [await this.traffic.json()];
  }

  async configure(routes: Route[], opts: ConfigureOptions = {}): Promise<void> {
    const checked = checkRoutes(routes);
    const size = opts.maxBodySize === undefined ? undefined : checkMaxBodySize(opts.maxBodySize);
    const features: ProxyFeatures | undefined = opts.features === undefined ? undefined : checkFeatures(opts.features);
    return this.command({ kind: 'configure', routes: checked, ...(features === undefined ? {} : { features }) }, (s) =>
      size === undefined ? s : { ...s, maxBodySize: size },
    );
  }

  async setBackends(colour: Colour, backends: Backends): Promise<void> {
    return this.command({ kind: 'set-backends', colour: checkColour(colour), backends: checkBackends(backends) });
  }

  async switchTo(colour: Colour): Promise<void> {
    return this.command({ kind: 'switch', colour: checkColour(colour) });
  }

  async setWeight(colour: Colour, percent: number): Promise<void> {
    return this.command({ kind: 'weight', colour: checkColour(colour), percent: checkPercent(percent) });
  }

  async setMaintenance(m: { on: true; message?: string } | { on: false }): Promise<void> {
    const on = checkBoolean((m as { on?: unknown } | null)?.on, 'maintenance: on');
    if (!on) return this.command({ kind: 'maintenance-off' });
    const raw = (m as { message?: unknown }).message;
    const message = raw === undefined || raw === null ? undefined : checkMaintenanceMessage(raw);
    return this.command({
      kind: 'maintenance-on',
      ...(message === undefined ? {} : { message }),
      now: new Date().toISOString(),
    });
  }

  async setWatch(on: boolean): Promise<void> {
    return this.command({ kind: 'watch', on: checkBoolean(on, 'watch: on') });
  }

  /** While off: enabled false, with the figures as they were when counting stopped (zeros if never on). */
  async stats(): Promise<TrafficStats> {
    const { websockets, streams } = this.counters.snapshot();
    const open = (c: Colour) => ({ sse: streams[c], websockets: websockets[c] });
    return { ...this.watch.snapshot(), open: { blue: open('blue'), green: open('green') } };
  }

  /**
   * Waits for `colour`'s requests to finish, up to `timeoutMs`. With `streamGraceMs` (a deploy's
   * deploy.streamGrace), streams get only that long: then its SSE responses are ended cleanly and
   * its WebSockets closed with 1001, and the drain waits only for requests whose answer has not
   * begun. A response being written at that moment that is not SSE (a download) is left to finish
   * or to the colour's stop; the result counts it. Without it: everything waits up to `timeoutMs`,
   * then WebSockets are closed.
   */
  async drain(colour: Colour, timeoutMs: number, opts: DrainOptions = {}): Promise<DrainResult> {
    const c = checkColour(colour);
    // Refused (as nginx refuses it) while the colour still gets traffic.
    applyCommand(routingOf(this.snap), { kind: 'drain', colour: c });
    const t0 = performance.now();
    const timeout = Math.max(0, Number(timeoutMs) || 0);
    const at = this.counters.snapshot();
    const openAtStart = { requests: at.inFlight[c], websockets: at.websockets[c], streams: at.streams[c] };
    const k = this.counters;
    let idle: boolean;
    let streams: DrainResult['streams'];
    const graceMs = opts.streamGraceMs;
    if (graceMs === undefined) {
      idle = await k.waitIdle(c, timeout);
    } else {
      const grace = Math.min(Math.max(0, graceMs), timeout);
      idle = await k.waitUntil(c, () => k.inFlightOf(c) === 0 && k.socketsOf(c) === 0, grace);
      if (!idle) {
        const sse = k.endStreams(c);
        const websockets = k.closeSockets(c, DRAIN_CLOSE_CODE, 'switchyard: environment drained');
        const long = k.longResponsesOf(c);
        streams = { afterMs: Math.round(performance.now() - t0), sse, websockets, long };
        const left = timeout - (performance.now() - t0);
        idle = await k.waitUntil(c, () => k.waitingOf(c) === 0, left);
      }
    }
    const websocketsClosed =
      (streams?.websockets ?? 0) + k.closeSockets(c, DRAIN_CLOSE_CODE, 'switchyard: environment drained');
    // The colour's processes can only exit promptly once our idle keep-alive sockets to them are gone.
    const other = this.originsInUse(COLOURS.filter((x) => x !== c));
    this.pools.close([...this.originsInUse([c])].filter((o) => !other.has(o)));
    return {
      inFlight: k.inFlightOf(c),
      websocketsClosed,
      timedOut: !idle,
      ms: Math.round(performance.now() - t0),
      openAtStart,
      ...(streams ? { streams } : {}),
    };
  }

  /** Stops accepting, lets in-flight requests finish (up to graceMs), then closes everything. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    await this.preview.close(false);
    const deadline = performance.now() + graceMs;
    for (const c of COLOURS) await this.counters.waitIdle(c, deadline - performance.now());
    for (const c of COLOURS) this.counters.closeSockets(c, DRAIN_CLOSE_CODE, 'switchyard: proxy stopping');
    this.server.closeAllConnections();
    await this.preview.close(true);
    await this.pools.destroyAll();
    await closed;
  }
}

/**
 * `snap` with each service's backends as a list of instances. A loaded snapshot already is (its
 * check reads an old single `{ host, port }` as a list of one); one built in process (a test, the
 * benchmark) may still name a single endpoint.
 */
function withListedBackends(snap: ProxySnapshot): ProxySnapshot {
  const backends: ProxySnapshot['backends'] = {};
  for (const c of COLOURS) {
    const b = snap.backends[c];
    if (b !== undefined) backends[c] = checkBackends(b);
  }
  return { ...snap, backends };
}

/** The routing part of a snapshot, absent fields as their defaults. */
function routingOf(s: ProxySnapshot): Routing {
  return {
    routes: s.routes,
    backends: s.backends,
    active: s.active,
    canary: s.canary ?? null,
    maintenance: s.maintenance ?? null,
    watching: s.watching === true,
    features: s.features ?? NO_FEATURES,
  };
}

/** `s` with what a command changed; what it left alone stays as saved (absent stays absent). */
function withRouting(s: ProxySnapshot, before: Routing, next: Routing): ProxySnapshot {
  const out: ProxySnapshot = { ...s };
  for (const k of Object.keys(next) as (keyof Routing)[]) {
    if (next[k] !== before[k]) Object.assign(out, { [k]: next[k] });
  }
  return out;
}
