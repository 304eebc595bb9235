/**
 * The dashboard's traffic series: the built-in proxy's per-colour counters (cumulative since it
 * started, src/proxy/builtin/watch.ts) sampled once a second, turned into per-second points
 * (requests/s, error rate, p50/p99 over that second, requests in flight) for the last
 * SERIES_SECONDS, and the live watch's figures against deploy.rollbackOn while a deploy's canary
 * step or post-switch watch runs: the same judge() over the same window the deploy judges (from the
 * step's start), so the page shows what the deploy decides on.
 */
import type { RollbackOn } from '../config/canary-schema.js';
import { COLOURS, type Colour } from '../config/schema.js';
import { diffStats, errorRate, quantileMs, restartedBetween, type TrafficStats } from '../proxy/stats.js';
import { judgeWindow, type Verdict } from '../watch/judge.js';

export const SERIES_SECONDS = 300;

export interface ColourPoint {
  /** Absent when the proxy gives no per-colour counts (nginx, or the proxy down): in flight only. */
  rps?: number;
  errorRate?: number;
  p50Ms?: number;
  p99Ms?: number;
  inFlight: number;
}

export interface TrafficPoint {
  /** Epoch ms of the sample. */
  t: number;
  colours: Record<Colour, ColourPoint>;
}

export interface WatchView {
  /** The journal step being judged (a canary step or the watch after the switch). */
  step: string;
  target: Colour;
  from: Colour;
  since: string;
  thresholds: RollbackOn;
  verdict: Verdict;
}

interface Sample {
  t: number;
  stats: TrafficStats | null;
}

/** A step the deploy judges with deploy.rollbackOn (plan action kinds, src/plan/actions.ts). */
const JUDGED = new Set(['shift', 'watch']);

const finite = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? undefined : n);

export class TrafficSeries {
  private samples: Sample[] = [];
  readonly points: TrafficPoint[] = [];

  /**
   * Adds one sample; returns its point (the first sample, and the first after a proxy restart,
   * whose counters went back to zero, have no rate: they only start the next difference).
   */
  add(t: number, stats: TrafficStats | null, inFlight: Record<Colour, number> | null): TrafficPoint {
    const prev = this.samples.at(-1);
    if (stats && prev?.stats && restartedBetween(prev.stats, stats)) this.samples = [];
    const base = this.samples.at(-1);
    const dt = base ? (t - base.t) / 1000 : 0;
    const d = stats && base?.stats && dt > 0 ? diffStats(stats, base.stats) : null;
    const colours = Object.fromEntries(
      COLOURS.map((c): [Colour, ColourPoint] => {
        const x = d?.colours[c];
        const p: ColourPoint = { inFlight: inFlight?.[c] ?? 0 };
        if (x) {
          p.rps = Math.round((x.requests / dt) * 10) / 10;
          p.errorRate = errorRate(x);
          const p50 = finite(quantileMs(x, 0.5));
          const p99 = finite(quantileMs(x, 0.99));
          if (p50 !== undefined) p.p50Ms = p50;
          if (p99 !== undefined) p.p99Ms = p99;
        }
        return [c, p];
      }),
    ) as Record<Colour, ColourPoint>;
    const point = { t, colours };
    this.samples.push({ t, stats });
    this.points.push(point);
    const oldest = t - SERIES_SECONDS * 1000;
    while ((this.samples[0]?.t ?? t) < oldest) this.samples.shift();
    while ((this.points[0]?.t ?? t) < oldest) this.points.shift();
    return point;
  }

  /**
   * The live watch's figures now, while `step` (a running journal step) is one the deploy judges:
   * the target colour over the window from the step's start against the old colour over the same
   * window, or since the operation began when that saw too few requests (as src/run/watch.ts does).
   */
  watch(
    op: {
      from: Colour | null;
      to: Colour | null;
      startedAt: string;
      steps: Array<{ kind?: string; title: string; status: string; startedAt: string }>;
    } | null,
    thresholds: RollbackOn | undefined,
  ): WatchView | null {
    const now = this.samples.at(-1)?.stats;
    if (!op || !thresholds || !now || !op.from || !op.to) return null;
    const step = op.steps.find((s) => s.status === 'started' && JUDGED.has(s.kind ?? ''));
    if (!step) return null;
    const start = this.at(Date.parse(step.startedAt));
    if (!start) return null;
    const since = this.at(Date.parse(op.startedAt)) ?? start;
    return {
      step: step.title,
      target: op.to,
      from: op.from,
      since: step.startedAt,
      thresholds,
      verdict: judgeWindow({ now, start, since, target: op.to, from: op.from }, thresholds),
    };
  }

  /** The first sample at or after `t` (the counters as the window began; the oldest kept when `t` is older). */
  private at(t: number): TrafficStats | null {
    const s = this.samples.find((x) => x.t >= t && x.stats) ?? this.samples.at(-1);
    return s?.stats ?? null;
  }
}
