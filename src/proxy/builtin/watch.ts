/**
 * Per-colour traffic counting: cumulative counts and latency buckets since the proxy started, like
 * Prometheus counters. Always on: the live watch and the dashboard each take snapshots and judge
 * or chart their differences, so nobody has to turn counting on and off under another reader (a
 * dashboard open during a deploy). The cost is a clock read and a bucket search per request
 * (docs/benchmarks.md). `on` only says whether a deploy watches now (status shows it; stats()
 * reports it as `enabled`).
 */
import type { Colour } from '../../config/schema.js';
import { emptyStats, record, type TrafficStats } from '../stats.js';

/**
 * What the forwarder calls once per finished request (status 0: the client left before any answer;
 * `route`: the path of the route it matched, as configured). The live watch and the metrics
 * (metrics.ts) are recorders.
 */
export interface RequestRecorder {
  record(colour: Colour, status: number, ms: number, failed: boolean, route: string): void;
}

export class TrafficWatch implements RequestRecorder {
  private figures: TrafficStats = emptyStats(false);
  on = false;

  set(on: boolean): void {
    this.on = on;
    this.figures.enabled = on;
  }

  record(colour: Colour, status: number, ms: number, failed: boolean): void {
    record(this.figures.colours[colour], status, ms, failed);
  }

  /** A copy, safe to send and to keep. */
  snapshot(): TrafficStats {
    const out = emptyStats(this.figures.enabled);
    for (const c of ['blue', 'green'] as const) {
      const s = this.figures.colours[c];
      out.colours[c] = { requests: s.requests, errors: s.errors, failures: s.failures, latency: [...s.latency] };
    }
    return out;
  }
}
