/**
 * The live watch's verdict (pure): the new colour's figures over a window against the old
 * colour's, under deploy.rollbackOn. No verdict before minRequests; the baseline only counts when
 * it saw minRequests itself (otherwise limits are judged against zero errors / absolute only).
 */
import type { RollbackOn } from '../config/canary-schema.js';
import type { Colour } from '../config/schema.js';
import { diffStats, errorRate, quantileMs, type ColourStats, type TrafficStats } from '../proxy/stats.js';
import type { Figures } from '../state/history.js';

export type { Figures };

export interface Verdict {
  /** waiting: too few requests to judge yet; fail: past a threshold. */
  state: 'ok' | 'fail' | 'waiting';
  reasons: string[];
  target: Figures;
  baseline: Figures | null;
}

export function figuresOf(s: ColourStats): Figures {
  const p99 = quantileMs(s, 0.99);
  return {
    requests: s.requests,
    errors: s.errors,
    failures: s.failures,
    errorRate: errorRate(s),
    ...(p99 === undefined ? {} : { p99Ms: p99 }),
  };
}

export const pct = (f: number) => `${(f * 100).toFixed(f < 0.1 ? 2 : 1)}%`;
const ms = (n: number | undefined) =>
  n === undefined ? '-' : Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)} ms` : '> 60 s';

export function describeFigures(f: Figures): string {
  return (
    `${f.requests} requests, ${f.errors} errors (${pct(f.errorRate)}` +
    `${f.failures ? `, ${f.failures} without an answer` : ''}), p99 ${ms(f.p99Ms)}`
  );
}

export function judge(target: ColourStats, baseline: ColourStats | null, t: RollbackOn): Verdict {
  const tf = figuresOf(target);
  const usable = baseline !== null && baseline.requests >= t.minRequests;
  const bf = usable ? figuresOf(baseline) : null;
  if (tf.requests < t.minRequests)
    return {
      state: 'waiting',
      reasons: [`${tf.requests} of ${t.minRequests} requests needed to judge`],
      target: tf,
      baseline: bf,
    };
  const reasons: string[] = [];
  if (t.errorRate !== undefined) {
    const base = bf?.errorRate ?? 0;
    if (tf.errorRate - base > t.errorRate) {
      reasons.push(
        `error rate ${pct(tf.errorRate)} is more than ${pct(t.errorRate)} above ` +
          (bf ? `the old colour's ${pct(base)}` : 'zero (the old colour had too few requests to compare)'),
      );
    }
  }
  if (t.p99 !== undefined && tf.p99Ms !== undefined) {
    if ('ms' in t.p99) {
      if (tf.p99Ms > t.p99.ms) reasons.push(`p99 ${ms(tf.p99Ms)} is above the limit of ${t.p99.ms} ms`);
    } else if (bf?.p99Ms !== undefined) {
      const limit = bf.p99Ms * t.p99.factor;
      if (tf.p99Ms > limit && tf.p99Ms - bf.p99Ms >= t.latencyFloor) {
        reasons.push(`p99 ${ms(tf.p99Ms)} is more than ${t.p99.factor}x the old colour's ${ms(bf.p99Ms)}`);
      }
    }
  }
  return { state: reasons.length ? 'fail' : 'ok', reasons, target: tf, baseline: bf };
}

/**
 * The verdict on a window of cumulative counters: the target from `start` to `now`, against the
 * old colour over the same window when it served minRequests there (a canary step), else since
 * `since` (the deploy's start: after the full switch the old colour gets nothing). The live watch
 * and the dashboard judge with this, so the page shows what the deploy decides on.
 */
export function judgeWindow(
  w: { now: TrafficStats; start: TrafficStats; since: TrafficStats; target: Colour; from: Colour },
  t: RollbackOn,
): Verdict {
  const win = diffStats(w.now, w.start);
  const sameWindow = win.colours[w.from];
  const baseline = sameWindow.requests >= t.minRequests ? sameWindow : diffStats(w.now, w.since).colours[w.from];
  return judge(win.colours[w.target], baseline, t);
}
