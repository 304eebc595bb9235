/**
 * The live watch: polls the proxy's per-colour figures and judges the new colour against the old
 * one (src/watch/judge.ts) until the window ends or a threshold trips. Used by each canary step and
 * after the full switch. Baseline: the old colour over the same window when it served enough
 * requests there (canary steps), else the old colour since the watch began (before the switch).
 */
import type { RollbackOn } from '../config/canary-schema.js';
import type { Colour } from '../config/schema.js';
import { diffStats, type TrafficStats } from '../proxy/stats.js';
import type { ProxyControl } from '../proxy/types.js';
import { judge, judgeWindow, type Verdict } from '../watch/judge.js';
import type { WatchRecord } from '../state/history.js';
import { sleep } from '../util/sleep.js';

export const WATCH_POLL_MS = 250;

export interface WatchInput {
  proxy: ProxyControl;
  target: Colour;
  from: Colour;
  /** Percent of clients on the target during this window. */
  percent: number;
  ms: number;
  thresholds: RollbackOn;
  /** Figures when the watch was turned on (the deploy's start): the old colour's fallback baseline. */
  since: TrafficStats;
  /** Stops the window early (Ctrl-C before the switch); the last verdict is returned. */
  signal?: AbortSignal;
  /** After each verdict; `now`: the proxy's figures it was judged on (with the streams open now). */
  onTick?: (v: Verdict, leftMs: number, now: TrafficStats) => void;
  /**
   * Asked at each poll, after a verdict that is not a fail: true ends the window now, with the
   * verdict so far (`interrupted` in the result). A canary step's promote or abort from outside.
   */
  interrupt?: () => Promise<boolean>;
  /**
   * The proxy stopped answering (its daemon died): bring it back (it restores its colour, split and
   * counting from its snapshot). The window then starts over, since its counters restarted at zero.
   */
  revive?: () => Promise<string>;
  onRevived?: (what: string) => void;
}

export interface WatchResult {
  verdict: Verdict;
  windowMs: number;
  /** performance.now() when the verdict was reached. */
  at: number;
  /** The window ended early because `interrupt` said so. */
  interrupted?: true;
}

/** stats(), reviving a dead proxy once per failure when the caller can. */
async function statsOrRevive(w: WatchInput): Promise<{ stats: TrafficStats; revived: boolean }> {
  try {
    return { stats: await w.proxy.stats(), revived: false };
  } catch (err) {
    if (!w.revive) throw err;
    w.onRevived?.(await w.revive());
    return { stats: await w.proxy.stats(), revived: true };
  }
}

export async function watchWindow(w: WatchInput): Promise<WatchResult> {
  let start = (await statsOrRevive(w)).stats;
  const t0 = performance.now();
  let verdict: Verdict = judge(diffStats(start, start).colours[w.target], null, w.thresholds);
  let interrupted = false;
  for (;;) {
    const left = w.ms - (performance.now() - t0);
    if (left <= 0 || w.signal?.aborted) break;
    await sleep(Math.min(WATCH_POLL_MS, left), w.signal);
    const { stats: now, revived } = await statsOrRevive(w);
    if (revived) {
      start = now;
      continue;
    }
    verdict = judgeWindow({ now, start, since: w.since, target: w.target, from: w.from }, w.thresholds);
    w.onTick?.(verdict, Math.max(0, w.ms - (performance.now() - t0)), now);
    if (verdict.state === 'fail') break;
    if (w.interrupt && (await w.interrupt())) {
      interrupted = true;
      break;
    }
  }
  return {
    verdict,
    windowMs: Math.round(performance.now() - t0),
    at: performance.now(),
    ...(interrupted ? { interrupted: true as const } : {}),
  };
}

export function watchRecord(r: WatchResult, percent: number, rollbackMs?: number): WatchRecord {
  return {
    percent,
    windowMs: r.windowMs,
    verdict: r.verdict.state,
    reasons: r.verdict.reasons,
    target: r.verdict.target,
    baseline: r.verdict.baseline,
    ...(rollbackMs === undefined ? {} : { rollbackMs }),
  };
}
