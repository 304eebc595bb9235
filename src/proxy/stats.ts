/**
 * Per-colour live traffic figures, the same shape from both proxies (built-in: its counters;
 * nginx: its JSON access log): cumulative counts and a latency histogram. The watch takes two
 * snapshots and judges their difference, so nothing here keeps a clock or a window.
 */
import { COLOURS, type Colour } from '../config/schema.js';

/** Histogram bucket upper bounds in ms: 0.5 ms growing by 1.25x up to ~60 s (about 53 buckets, then +Inf). */
export const LATENCY_BOUNDS_MS: readonly number[] = (() => {
  const out: number[] = [];
  for (let b = 0.5; b < 60_000; b *= 1.25) out.push(Math.round(b * 1000) / 1000);
  return out;
})();

export interface ColourStats {
  /** Requests answered (or failed) by this colour's backends. */
  requests: number;
  /** Of those: 5xx answers, including the proxy's own 502/504 when the backend failed. */
  errors: number;
  /** Of the errors: no answer at all from the backend (refused, reset, timed out). */
  failures: number;
  /** Counts per LATENCY_BOUNDS_MS bucket; the last slot is everything slower than the last bound. */
  latency: number[];
}

export interface TrafficStats {
  /** Whether the proxy is counting (the live watch is on). */
  enabled: boolean;
  colours: Record<Colour, ColourStats>;
  /** Built-in proxy: streams open now per colour (SSE responses, WebSockets), what a drain's grace ends. */
  open?: Record<Colour, { sse: number; websockets: number }>;
}

export function emptyColourStats(): ColourStats {
  return { requests: 0, errors: 0, failures: 0, latency: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0) };
}

export function emptyStats(enabled = false): TrafficStats {
  return { enabled, colours: { blue: emptyColourStats(), green: emptyColourStats() } };
}

/** Index of the bucket for a duration (binary search; the last index is +Inf). */
export function bucketIndex(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ms <= LATENCY_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Adds one finished request. `failed`: the backend gave no answer (the proxy answered 502/504 itself). */
export function record(s: ColourStats, status: number, ms: number, failed = false): void {
  s.requests++;
  if (status >= 500 || failed) s.errors++;
  if (failed) s.failures++;
  s.latency[bucketIndex(ms)]!++;
}

/** `later - earlier`, per colour (counters only grow while counting is on). */
export function diffStats(later: TrafficStats, earlier: TrafficStats): TrafficStats {
  const out = emptyStats(later.enabled);
  if (later.open) out.open = later.open;
  for (const c of COLOURS) {
    const a = later.colours[c];
    const b = earlier.colours[c];
    out.colours[c] = {
      requests: Math.max(0, a.requests - b.requests),
      errors: Math.max(0, a.errors - b.errors),
      failures: Math.max(0, a.failures - b.failures),
      latency: a.latency.map((n, i) => Math.max(0, n - (b.latency[i] ?? 0))),
    };
  }
  return out;
}

/**
 * Whether the proxy restarted between two snapshots: its counters (cumulative since it started)
 * went back. A difference across a restart means nothing; readers start again from `later`.
 */
export function restartedBetween(earlier: TrafficStats, later: TrafficStats): boolean {
  return COLOURS.some((c) => later.colours[c].requests < earlier.colours[c].requests);
}

/** The q-quantile (0..1) in ms, as the upper bound of its bucket; undefined with no requests. */
export function quantileMs(s: ColourStats, q: number): number | undefined {
  const total = s.latency.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < s.latency.length; i++) {
    seen += s.latency[i]!;
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : Number.POSITIVE_INFINITY;
  }
  return undefined;
}

export function errorRate(s: ColourStats): number {
  return s.requests === 0 ? 0 : s.errors / s.requests;
}

/** A JSON-safe check of a stats object received over the wire. */
export function isTrafficStats(v: unknown): v is TrafficStats {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as { enabled?: unknown; colours?: Record<string, unknown> };
  if (typeof o.enabled !== 'boolean' || typeof o.colours !== 'object' || o.colours === null) return false;
  return COLOURS.every((c) => {
    const s = o.colours![c] as Partial<ColourStats> | undefined;
    return (
      !!s &&
      [s.requests, s.errors, s.failures].every((n) => typeof n === 'number') &&
      Array.isArray(s.latency) &&
      s.latency.length === LATENCY_BOUNDS_MS.length + 1
    );
  });
}
