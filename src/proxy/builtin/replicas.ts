/**
 * The proxy daemon with proxy.workers > 1: it serves no traffic itself. It forks that many workers
 * (node:cluster; they share the listening ports) and is their single point of control:
 *
 * - A change (switch, weight, backends, ...) runs one at a time. The first worker computes it and
 *   asks the daemon to save the next snapshot; only then does it apply it; then every other worker
 *   applies the same call. The control call returns once all have, so, as with one process, every
 *   request that starts after it returns follows the new state (I3).
 * - A worker that cannot apply a change that was saved is killed and replaced; its replacement
 *   starts from the saved snapshot, so no worker ever serves a state older than the saved one.
 * - Reads and drains go to every worker at once and their answers are merged (the traffic metrics
 *   are each worker's prom-client registry as JSON, summed by the daemon: metrics.ts).
 * - A worker that dies is replaced (from the saved snapshot); one that keeps dying stops the daemon.
 */
import cluster, { type Worker } from 'node:cluster';
import { SwitchyardError } from '../../errors.js';
import type { Colour, Route } from '../../config/schema.js';
import type { TrafficStats } from '../stats.js';
import type { Backends, ConfigureOptions, DrainOptions, DrainResult, ProxyControl, ProxyStatus } from '../types.js';
import {
  fromWire,
  mergeDrain,
  mergeStats,
  mergeStatus,
  toWire,
  type ChangeMethod,
  type FromWorker,
  type ToWorker,
  type WorkerMethod,
} from './replica-protocol.js';
import type { MetricsJson } from './metrics.js';
import type { Listen, ProxySnapshot } from './snapshot.js';

/** How long a worker may take to come up (load the snapshot, bind). */
export const WORKER_START_TIMEOUT_MS = 15_000;
/**
 * A worker that has not answered a call within this (beyond a drain's own timeout) is hung: it is
 * killed and replaced. A live worker answers in milliseconds, even under load; this stays below the
 * CLI's own control-call timeout, so the CLI hears the real outcome.
 */
export const WORKER_CALL_TIMEOUT_MS = 3_000;
/** How long a status waits for each worker; below the CLI's liveness probe (500 ms). */
export const STATUS_WAIT_MS = 250;
/** More deaths than this within CRASH_WINDOW_MS and the daemon gives up (the next command restarts it). */
export const MAX_CRASHES = 5;
export const CRASH_WINDOW_MS = 60_000;

export interface ReplicaOptions {
  /** The script and arguments a worker runs (the daemon's own: `switchyard proxy --project DIR`). */
  exec: { execArgv: string[]; script: string; args: string[] };
  /** Saves a snapshot atomically; called before any worker applies a change. */
  persist: (snap: ProxySnapshot) => Promise<void>;
  log: (message: string) => void;
  /** Called when workers keep dying: the daemon should stop. */
  onGiveUp: (why: string) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  exited: Promise<void>;
  /** Why we killed it, when we did (a call it never answered). */
  killedFor?: string;
}

export class ProxyReplicas implements ProxyControl {
  private readonly slots: Slot[] = [];
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; slot: Slot }>();
  private seq = 0;
  private changes: Promise<unknown> = Promise.resolve();
  private closing = false;
  private crashes: number[] = [];
  private addr!: Listen;
  private preview: Listen | undefined;

  private constructor(private readonly opts: ReplicaOptions) {}

  /**
   * Forks `n` workers and waits until all serve; if one cannot (a port in use), stops the others and throws its error.
   */
  static async start(n: number, opts: ReplicaOptions): Promise<ProxyReplicas> {
    cluster.setupPrimary({ exec: opts.exec.script, args: opts.exec.args, execArgv: opts.exec.execArgv });
    const r = new ProxyReplicas(opts);
    const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => r.spawn(i)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await r.close(0);
      throw failed.reason;
    }
    return r;
  }

  get address(): Listen {
    return this.addr;
  }

  get previewAddress(): Listen | undefined {
    return this.preview;
  }

  get pids(): number[] {
    return this.slots.map((s) => s.worker.process.pid ?? 0);
  }

  /** Forks the worker for slot `i` and resolves once it serves. */
  private spawn(i: number): Promise<void> {
    const worker = cluster.fork();
    // A message to a worker that is going away fails with EPIPE: its exit is handled below, the error is not news.
    worker.on('error', () => {});
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const slot: Slot = { worker, ready: false, exited };
    this.slots[i] = slot;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(
          new SwitchyardError(
            'PROXY_FAILED',
            `proxy worker ${i + 1} did not start within ${WORKER_START_TIMEOUT_MS / 1000} s`,
          ),
        );
      }, WORKER_START_TIMEOUT_MS);
      worker.on('message', (m: FromWorker) => {
        if (m.kind === 'ready') {
          clearTimeout(timer);
          slot.ready = true;
          this.addr = m.address;
          this.preview = m.preview;
          resolve();
        } else if (m.kind === 'start-failed') {
          clearTimeout(timer);
          reject(fromWire(m.error));
        } else this.onMessage(slot, m);
      });
      worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new SwitchyardError(
            'PROXY_FAILED',
            `proxy worker ${i + 1} exited while starting (${signal ?? `code ${code}`})`,
          ),
        );
        this.onExit(slot, i, signal ?? `code ${code}`);
      });
    });
  }

  private onMessage(slot: Slot, m: FromWorker): void {
    if (m.kind === 'reply') {
      const c = this.calls.get(m.id);
      this.calls.delete(m.id);
      if (m.error) c?.reject(fromWire(m.error));
      else c?.resolve(m.value);
    } else if (m.kind === 'persist') {
      this.opts.persist(m.snap).then(
        () => {
          this.persistedInCall = true;
          this.tell(slot, { kind: 'persisted', id: m.id });
        },
        (err: unknown) => this.tell(slot, { kind: 'persisted', id: m.id, error: toWire(err) }),
      );
    }
  }

  /** Set when the current change call saved a snapshot (so workers that did not apply it must go). */
  private persistedInCall = false;

  private onExit(slot: Slot, i: number, how: string): void {
    for (const [id, c] of this.calls) {
      if (c.slot !== slot) continue;
      this.calls.delete(id);
      const what = slot.killedFor ? `was hung (it ${slot.killedFor}) and was killed` : `exited (${how})`;
      c.reject(
        new SwitchyardError('PROXY_FAILED', `proxy worker ${i + 1} ${what} during the call`, {
          hint: 'it is replaced from the saved state; run the command again',
        }),
      );
    }
    if (this.closing || !slot.ready || this.slots[i] !== slot) return;
    slot.ready = false;
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < CRASH_WINDOW_MS), now];
    if (this.crashes.length > MAX_CRASHES) {
      this.opts.onGiveUp(`proxy workers exited ${this.crashes.length} times within ${CRASH_WINDOW_MS / 1000} s`);
      return;
    }
    this.opts.log(
      `worker ${i + 1} (pid ${slot.worker.process.pid})` +
        ` exited (${slot.killedFor ? `killed: it ${slot.killedFor}` : how}); starting a new one`,
    );
    // Through the change queue: the new worker reads the snapshot no change is halfway through saving.
    this.queue(() => this.spawn(i)).catch((err: unknown) => {
      this.opts.log(`worker ${i + 1} could not be restarted: ${(err as Error).message}`);
      // Serving nothing at all: stop, so the next command starts a whole new proxy.
      if (this.live().length === 0 && !this.closing)
        this.opts.onGiveUp('no proxy worker is running and none could be restarted');
    });
  }

  private tell(slot: Slot, m: ToWorker): void {
    if (slot.worker.isConnected()) slot.worker.send(m, undefined, () => {});
  }

  private call(slot: Slot, method: WorkerMethod, args: unknown[], persist = false): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (!slot.ready || !slot.worker.isConnected()) {
        reject(new SwitchyardError('PROXY_FAILED', `proxy worker pid ${slot.worker.process.pid} is not running`));
        return;
      }
      const id = ++this.seq;
      const limit = WORKER_CALL_TIMEOUT_MS + (method === 'drain' ? Math.max(0, Number(args[1]) || 0) : 0);
      const timer = setTimeout(() => {
        if (!this.calls.delete(id)) return;
        reject(
          new SwitchyardError(
            'PROXY_FAILED',
            `proxy worker pid ${slot.worker.process.pid} did not answer ${method} within ${Math.round(limit / 1000)} s`,
          ),
        );
        // Hung: its exit brings a replacement from the saved snapshot.
        slot.killedFor = `did not answer ${method} within ${Math.round(limit / 1000)} s`;
        this.opts.log(`worker pid ${slot.worker.process.pid} ${slot.killedFor}; killing it`);
        slot.worker.process.kill('SIGKILL');
      }, limit);
      const done =
        <T>(fn: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          fn(v);
        };
      this.calls.set(id, { resolve: done(resolve), reject: done(reject), slot });
      // A send that fails means the worker is gone: its exit rejects this call (onExit).
      slot.worker.send({ kind: 'call', id, method, args, persist } satisfies ToWorker, undefined, () => {});
    });
  }

  private queue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changes.then(fn);
    this.changes = run.catch(() => {});
    return run;
  }

  private live(): Slot[] {
    return this.slots.filter((s) => s.ready);
  }

  /** Kills workers whose state may differ from the saved snapshot; each is replaced from it. */
  private async replace(slots: Slot[], why: string): Promise<void> {
    for (const s of slots) {
      this.opts.log(`restarting worker pid ${s.worker.process.pid}: ${why}`);
      s.worker.process.kill('SIGKILL');
    }
    await Promise.all(slots.map((s) => s.exited));
  }

  private change(method: ChangeMethod, args: unknown[]): Promise<void> {
    return this.queue(async () => {
      const [first, ...rest] = this.live();
      if (first === undefined) throw new SwitchyardError('PROXY_FAILED', 'no proxy worker is running');
      this.persistedInCall = false;
      try {
        await this.call(first, method, args, true);
      } catch (err) {
        // Refused before it was saved (a bad value, a port in use): nothing changed anywhere.
        if (!this.persistedInCall) throw err;
        // Saved, then the first worker failed: every worker still has the old state.
        await this.replace([first, ...rest], `a change was saved but not applied (${(err as Error).message})`);
        throw err;
      }
      const results = await Promise.allSettled(rest.map((s) => this.call(s, method, args)));
      const behind = rest.filter((_, k) => results[k]!.status === 'rejected');
      if (behind.length > 0) await this.replace(behind, 'it did not apply a saved change');
    });
  }

  private async readAll<T>(method: WorkerMethod, args: unknown[] = []): Promise<T[]> {
    const live = this.live();
    if (live.length === 0) throw new SwitchyardError('PROXY_FAILED', 'no proxy worker is running');
    return (await Promise.all(live.map((s) => this.call(s, method, args)))) as T[];
  }

  /**
   * From the workers that answer within STATUS_WAIT_MS: a status must come back quickly even with a
   * worker hung (the CLI would take a slow answer for a dead proxy and try to start another). The
   * hung worker's call still times out and the worker is replaced.
   */
  async status(): Promise<ProxyStatus> {
    const live = this.live();
    const answers = await Promise.all(
      live.map((s) =>
        Promise.race([
          this.call(s, 'status', []).catch(() => undefined),
          new Promise((r) => setTimeout(r, STATUS_WAIT_MS).unref()),
        ]),
      ),
    );
    const got = answers.filter((a): a is ProxyStatus => a !== undefined);
    if (got.length === 0) throw new SwitchyardError('PROXY_FAILED', 'no proxy worker answered');
    return mergeStatus(got, process.pid, this.pids);
  }

  async stats(): Promise<TrafficStats> {
    return mergeStats(await this.readAll<TrafficStats>('stats'));
  }

  /**
   * Every worker's traffic metrics, for the daemon to sum (metrics.ts exposition). All or none: a sum
   * without a worker's share would show its counters going back, which Prometheus reads as a restart.
   */
  async metrics(): Promise<MetricsJson[]> {
    return (await this.readAll<MetricsJson[]>('metrics')).flat();
  }

  async drain(colour: Colour, timeoutMs: number, opts: DrainOptions = {}): Promise<DrainResult> {
    return mergeDrain(await this.readAll<DrainResult>('drain', [colour, timeoutMs, opts]));
  }

  configure(routes: Route[], opts: ConfigureOptions = {}): Promise<void> {
    return this.change('configure', [routes, opts]);
  }

  setBackends(colour: Colour, backends: Backends): Promise<void> {
    return this.change('setBackends', [colour, backends]);
  }

  switchTo(colour: Colour): Promise<void> {
    return this.change('switchTo', [colour]);
  }

  setWeight(colour: Colour, percent: number): Promise<void> {
    return this.change('setWeight', [colour, percent]);
  }

  setMaintenance(m: { on: true; message?: string } | { on: false }): Promise<void> {
    return this.change('setMaintenance', [m]);
  }

  setWatch(on: boolean): Promise<void> {
    return this.change('setWatch', [on]);
  }

  /** Every worker stops accepting and lets in-flight requests finish (up to graceMs); stragglers are killed. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const slots = this.slots.filter((s) => s !== undefined);
    for (const s of slots) this.tell(s, { kind: 'close', graceMs });
    const killer = setTimeout(
      () =>
        slots.forEach((s) => {
          s.worker.process.kill('SIGKILL');
        }),
      graceMs + 5_000,
    );
    await Promise.all(slots.map((s) => s.exited));
    clearTimeout(killer);
  }
}
