/**
 * Kill-at-a-step harness: run the CLI with --json, read its events line by line, and SIGKILL it the
 * moment a chosen event arrives (no hook in the product: the kill lands wherever the command got
 * to). Also a keep-alive load that backs off after a failed request (so a dead proxy does not turn
 * it into a tight loop of refused connections) and the consistency check every kill must end in.
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { assertLoopback, summarise, type LoadSample, type LoadTotals } from '../../src/load/load.ts';
import type { Project } from './project.ts';

export interface CliEvent {
  event: string;
  index?: number;
  title?: string;
  status?: string;
  text?: string;
  [k: string]: unknown;
}

/** Where a kill point fires: the event, and the title of the step that started last. */
export type KillWhen = (ev: CliEvent, step: string) => boolean;

export interface KillPoint {
  name: string;
  when: KillWhen;
  /** Where traffic must end up after `recover`: the colour deployed from, the target, or either (racy by nature). */
  expect: 'from' | 'to' | 'either';
}

const stepIs =
  (status: string, title: RegExp): KillWhen =>
  (ev) =>
    ev.event === 'step' && ev.status === status && title.test(ev.title ?? '');

/**
 * While a step whose title matches runs: its first progress event. A canary step reports progress
 * only after it set its weight, so a kill here lands with the step's split applied.
 */
export const duringStep =
  (title: RegExp): KillWhen =>
  (ev, step) =>
    ev.event === 'progress' && title.test(step);

/** The deploy's steps in order; `backup` assumes backup.kind: command (so that step really runs). */
export const DEPLOY_KILL_POINTS: KillPoint[] = [
  { name: 'after backup', when: stepIs('ok', /^Backing up database/), expect: 'from' },
  { name: 'after build/start', when: stepIs('ok', /^Building and starting/), expect: 'from' },
  {
    name: 'during health',
    when: (ev, step) => ev.event === 'progress' && /^Running health checks/.test(step),
    expect: 'from',
  },
  { name: 'during smoke', when: (ev) => ev.event === 'smoke', expect: 'from' },
  { name: 'at switch', when: stepIs('start', /^Switching traffic/), expect: 'either' },
  { name: 'during verify', when: (ev) => ev.event === 'progress' && /^verifying/.test(ev.text ?? ''), expect: 'to' },
  { name: 'during drain', when: stepIs('start', /^Stopping .* environment/), expect: 'to' },
  { name: 'during stop', when: (ev) => ev.event === 'progress' && /^stopping/.test(ev.text ?? ''), expect: 'to' },
  { name: 'after stop', when: stepIs('ok', /^Stopping .* environment/), expect: 'to' },
];

export interface KilledRun {
  /** The kill landed (the process died of SIGKILL); false when it exited on its own first. */
  killed: boolean;
  code: number | null;
  events: CliEvent[];
  stderr: string;
  /** From spawn to the matching event, and from the event to the process being gone. */
  eventMs: number | undefined;
  exitMs: number;
}

/** Runs `args` (which must include --json) and SIGKILLs it when `when` matches; bounded by `timeoutMs`. */
export function runAndKill(p: Project, args: string[], when: KillWhen, timeoutMs = 30_000): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = p.spawn(args);
    const events: CliEvent[] = [];
    let stderr = '';
    let step = '';
    let eventAt: number | undefined;
    child.stderr!.on('data', (d) => (stderr += d));
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let ev: CliEvent;
      try {
        ev = JSON.parse(line) as CliEvent;
      } catch {
        return;
      }
      events.push(ev);
      if (ev.event === 'step' && ev.status === 'start') step = ev.title ?? '';
      if (eventAt === undefined && when(ev, step)) {
        eventAt = Date.now();
        child.kill('SIGKILL');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const end = Date.now();
      if (eventAt === undefined && signal === 'SIGKILL')
        return reject(
          new Error(
            `${args.join(' ')} timed out after ${timeoutMs} ms without the event; ` +
              `events: ${JSON.stringify(events.slice(-5))}\n${stderr}`,
          ),
        );
      resolve({
        killed: signal === 'SIGKILL',
        code,
        events,
        stderr,
        eventMs: eventAt === undefined ? undefined : eventAt - t0,
        exitMs: end - (eventAt ?? t0),
      });
    });
  });
}

export interface Load {
  readonly sent: number;
  stop(): Promise<LoadTotals>;
}

/**
 * A bounded keep-alive load through the proxy (loopback only): `connections` loops, each sending
 * the next request as soon as the last one answered, and waiting `backoffMs` after a failure.
 */
export function startKeepAliveLoad(
  origin: string,
  opts: {
    path: string;
    connections?: number;
    maxRequests: number;
    maxMs: number;
    backoffMs?: number;
    /** Throws unless the origin is one tests may load (default: loopback only). */
    allowed?: (origin: string) => void;
  },
): Load {
  (opts.allowed ?? assertLoopback)(origin);
  const connections = opts.connections ?? 4;
  const pool = new Pool(origin, { connections, keepAliveTimeout: 10_000, pipelining: 1 });
  const started = Date.now();
  const samples: LoadSample[] = [];
  let sent = 0;
  let stopping = false;
  const deadline = setTimeout(() => (stopping = true), opts.maxMs);
  const worker = async () => {
    while (!stopping && sent < opts.maxRequests) {
      sent++;
      const at = Date.now() - started;
      try {
        const res = await pool.request({ method: 'GET', path: opts.path, headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.dump();
        const env = res.headers['x-switchyard-env'];
        const end = Date.now() - started;
        samples.push({ at, end, status: res.statusCode, colour: typeof env === 'string' ? env : undefined });
      } catch (e) {
        samples.push({
          at,
          end: Date.now() - started,
          status: 0,
          colour: undefined,
          error: (e as NodeJS.ErrnoException).code ?? (e as Error).message,
        });
        await new Promise((r) => setTimeout(r, opts.backoffMs ?? 20));
      }
    }
  };
  const done = (async () => {
    await Promise.all(Array.from({ length: connections }, worker));
    clearTimeout(deadline);
    await pool.close();
    return summarise(samples, started, Date.now() - started);
  })();
  return {
    get sent() {
      return sent;
    },
    stop: async () => {
      stopping = true;
      return done;
    },
  };
}

export interface StatusReport {
  active: string | null;
  currentEnv: string | null;
  proxy: {
    running: boolean;
    active: string | null;
    canary?: { colour: string; percent: number } | null;
    watching?: boolean;
  };
  colours: Record<
    string,
    { state: string; release: string | null; services: Array<{ service: string; running: boolean }> }
  >;
  lock: unknown;
  operation: unknown;
  problems: Array<{ what: string; fix: string }>;
}

export async function statusJson(p: Project): Promise<{ code: number | null; report: StatusReport; text: string }> {
  const r = await p.run(['status', '--json'], { timeoutMs: 30_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '{}';
  return { code: r.code, report: JSON.parse(last) as StatusReport, text: r.stdout + r.stderr };
}

/**
 * Everything agrees: status exits 0; state.json, .current-env and the proxy name the same colour;
 * it runs and answers through the public port; the other colour is stopped, or is what state.json
 * says it is (standby). No journal and no lock are left. Returns the live colour.
 */
export async function assertConverged(p: Project): Promise<string> {
  const { code, report, text } = await statusJson(p);
  assert.equal(code, 0, text);
  assert.deepEqual(report.problems, []);
  const active = report.active;
  assert.ok(active, 'a colour is active');
  assert.equal(report.currentEnv, active, '.current-env agrees with state.json');
  assert.equal(report.proxy.active, active, 'the proxy agrees with state.json');
  assert.ok(
    report.colours[active]!.services.every((s) => s.running),
    `${active} runs`,
  );
  const idle = active === 'blue' ? 'green' : 'blue';
  const idleRuns = report.colours[idle]!.services.some((s) => s.running);
  assert.ok(
    !idleRuns || report.colours[idle]!.state === 'standby',
    `${idle} is stopped or standby (state: ${report.colours[idle]!.state}, running: ${idleRuns})`,
  );
  if (!idleRuns) assert.notEqual(report.colours[idle]!.state, 'live');
  assert.equal(report.operation, null, 'no journal left');
  assert.equal(report.lock, null, 'no lock left');
  const res = await p.get('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, active, 'the public port is served by the active colour');
  return active;
}
