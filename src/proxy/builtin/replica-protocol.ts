/**
 * What the proxy daemon and its workers (proxy.workers > 1) say to each other over the cluster IPC
 * channel, and how the daemon merges the workers' answers into one. Pure: no processes here.
 */
import { COLOURS } from '../../config/schema.js';
import { isSwitchyardError, SwitchyardError, type ErrorCode } from '../../errors.js';
import { emptyStats, type TrafficStats } from '../stats.js';
import type { DrainResult, ProxyStatus } from '../types.js';
import type { Listen, ProxySnapshot } from './snapshot.js';

/** The ProxyControl methods a worker runs; the first group changes state, the second only reads or drains. */
export const CHANGE_METHODS = [
  'configure',
  'setBackends',
  'switchTo',
  'setWeight',
  'setMaintenance',
  'setWatch',
] as const;
/** `metrics`: the worker's traffic metrics as prom-client JSON (metrics.ts); the daemon sums them for /metrics. */
export const READ_METHODS = ['status', 'stats', 'drain', 'metrics'] as const;
export type ChangeMethod = (typeof CHANGE_METHODS)[number];
export type WorkerMethod = ChangeMethod | (typeof READ_METHODS)[number];

export interface WireError {
  code: ErrorCode | 'INTERNAL';
  message: string;
  hint?: string;
}

/** Daemon -> worker. `persist`: this worker asks the daemon to save the next snapshot before applying. */
export type ToWorker =
  | { kind: 'call'; id: number; method: WorkerMethod; args: unknown[]; persist: boolean }
  | { kind: 'persisted'; id: number; error?: WireError }
  | { kind: 'close'; graceMs: number };

/** Worker -> daemon. */
export type FromWorker =
  | { kind: 'ready'; address: Listen; preview?: Listen }
  | { kind: 'start-failed'; error: WireError }
  | { kind: 'reply'; id: number; value?: unknown; error?: WireError }
  | { kind: 'persist'; id: number; snap: ProxySnapshot };

export function toWire(e: unknown): WireError {
  if (isSwitchyardError(e))
    return { code: e.code, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export function fromWire(w: WireError): Error {
  if (w.code === 'INTERNAL') return new Error(w.message);
  return new SwitchyardError(w.code, w.message, w.hint === undefined ? {} : { hint: w.hint });
}

/** One status for the whole daemon: the first worker's view, open requests and WebSockets summed, the daemon's pid. */
export function mergeStatus(parts: ProxyStatus[], daemonPid: number, workerPids: number[]): ProxyStatus {
  const first = parts[0];
  if (first === undefined) throw new Error('mergeStatus: no worker answered');
  return { ...first, pid: daemonPid, ...sumOpen(parts), workers: [...workerPids] };
}

/** What is open per colour, added up over several proxies (workers, or swarm edge replicas). */
export function sumOpen(parts: ProxyStatus[]): Pick<ProxyStatus, 'inFlight' | 'websockets' | 'streams'> {
  const inFlight = { blue: 0, green: 0 };
  const websockets = { blue: 0, green: 0 };
  const streams = { blue: 0, green: 0 };
  for (const p of parts) {
    for (const c of COLOURS) {
      inFlight[c] += p.inFlight[c];
      websockets[c] += p.websockets[c];
      streams[c] += p.streams?.[c] ?? 0;
    }
  }
  return { inFlight, websockets, streams };
}

/** A drain is over when every worker's is: counts add up, it timed out if any worker's did, it took the longest. */
export function mergeDrain(parts: DrainResult[]): DrainResult {
  const out: DrainResult = {
    inFlight: 0,
    websocketsClosed: 0,
    timedOut: false,
    ms: 0,
    openAtStart: { requests: 0, websockets: 0, streams: 0 },
  };
  for (const p of parts) {
    out.inFlight += p.inFlight;
    out.websocketsClosed += p.websocketsClosed;
    out.timedOut ||= p.timedOut;
    out.ms = Math.max(out.ms, p.ms);
    out.openAtStart!.requests += p.openAtStart?.requests ?? 0;
    out.openAtStart!.websockets += p.openAtStart?.websockets ?? 0;
    out.openAtStart!.streams! += p.openAtStart?.streams ?? 0;
    if (p.streams) {
      const s = (out.streams ??= { afterMs: 0, sse: 0, websockets: 0, long: 0 });
      s.afterMs = Math.max(s.afterMs, p.streams.afterMs);
      s.sse += p.streams.sse;
      s.websockets += p.streams.websockets;
      s.long += p.streams.long;
    }
  }
  return out;
}

/** Per-colour counts and latency buckets summed over the workers; counting is on if it is on in the first. */
export function mergeStats(parts: TrafficStats[]): TrafficStats {
  const out = emptyStats(parts[0]?.enabled ?? false);
  for (const p of parts) {
    for (const c of COLOURS) {
      const a = out.colours[c];
      const b = p.colours[c];
      a.requests += b.requests;
      a.errors += b.errors;
      a.failures += b.failures;
      b.latency.forEach((n, i) => {
        a.latency[i] = (a.latency[i] ?? 0) + n;
      });
      if (p.open) {
        out.open ??= { blue: { sse: 0, websockets: 0 }, green: { sse: 0, websockets: 0 } };
        out.open[c].sse += p.open[c].sse;
        out.open[c].websockets += p.open[c].websockets;
      }
    }
  }
  return out;
}
