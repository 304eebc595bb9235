/**
 * Per-colour traffic counting for the live watch. Off by default; when off the proxy does not
 * even take a start time (the forwarder only gets a recorder while counting is on), so the cost
 * is one boolean check per request. Turned on from off, the counts start again from zero; turned
 * off, they are kept as they were (stats() then reports enabled: false with the last figures).
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
    if (on && !this.on) this.figures = emptyStats(true);
    this.on = on;
    this.figures.enabled = on;
  }

  record(colour: Colour, status: number, ms: number, failed: boolean): void {
    // A request that started while counting was on may end after it was turned off.
    if (!this.on) return;
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
