/**
 * The traffic moves of a deploy beyond the single switch (issue 6): canary steps (a sticky share
 * of clients on the new colour, each step watched), and the watch after the full switch. A step
 * that trips deploy.rollbackOn puts every client back on the old colour by itself and fails the
 * deploy (exit 1) with the figures in the message and in history.
 */
import type { RollbackOn } from '../config/canary-schema.js';
import { formatDuration } from '../config/duration.js';
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { TrafficStats } from '../proxy/stats.js';
import type { ProxyControl } from '../proxy/types.js';
import { writeState, type State } from '../state/state.js';
import { describeFigures, type Verdict } from '../watch/judge.js';
import type { Engine } from './context.js';
import type { Operation } from './operation.js';
import type { StepHandle } from './reporter.js';
import { watchRecord, watchWindow, type WatchResult } from './watch.js';
import { sleep } from '../util/sleep.js';

export interface ShiftContext {
  e: Engine;
  op: Operation;
  proxy: ProxyControl;
  from: Colour;
  target: Colour;
  /** Set when deploy.rollbackOn is: the figures when the watch was turned on. */
  watch?: { since: TrafficStats; thresholds: RollbackOn };
}

function progress(h: StepHandle, label: string) {
  return (v: Verdict, left: number) =>
    h.update(`${label}: ${describeFigures(v.target)}; ${Math.ceil(left / 1000)} s left`);
}

function failure(c: ShiftContext, r: WatchResult, where: string, back: string): SwitchyardError {
  const v = r.verdict;
  return new SwitchyardError('WATCH_FAILED', `${c.target} ${where}: ${v.reasons.join('; ')}; ${back}`, {
    details: [
      `${c.target}: ${describeFigures(v.target)}`,
      `${c.from}: ${v.baseline ? describeFigures(v.baseline) : 'too few requests to compare'}`,
    ],
    hint: `see \`switchyard logs ${c.target}\` and \`switchyard history\``,
  });
}

/** Restarts a proxy daemon that died during a watch (it comes back with its colour, split and counting). */
function reviver(c: ShiftContext) {
  return {
    revive: async () => `the proxy stopped answering; restarted it (pid ${(await c.e.proxy.ensure()).status.pid})`,
    onRevived: (what: string) => c.e.reporter.warn(what),
  };
}

/**
 * Puts every client back on the old colour after a failed verdict. The proxy may have died at that
 * very moment: then it is restarted (from its snapshot) and the move is made again, once, so a
 * verdict is never lost to a dead daemon. Returns how long it took (ms, from `since`).
 */
export async function moveBack(
  back: () => Promise<void>,
  r: { revive: () => Promise<string>; onRevived: (what: string) => void },
  since: number,
): Promise<number> {
  try {
    await back();
  } catch {
    r.onRevived(await r.revive());
    await back();
  }
  return Math.round(performance.now() - since);
}

function judged(r: WatchResult): string {
  return `${describeFigures(r.verdict.target)}${r.verdict.state === 'waiting' ? ' (too few requests to judge)' : ''}`;
}

/**
 * One canary step below 100% (the full switch is its own step). The first registers the undo that
 * puts every client back on the old colour after any failure or Ctrl-C from there on.
 */
export async function canaryStep(
  c: ShiftContext,
  step: { percent: number; waitMs: number; first: boolean },
  h: StepHandle,
): Promise<void> {
  const { e, op, proxy, target, from } = c;
  const { percent: p, waitMs: stepWaitMs } = step;
  if (step.first) {
    op.onFailure(async () => {
      await proxy.setWeight(target, 0);
      return `all clients are back on ${from}`;
    });
  }
  e.signal.throwIfAborted();
  await proxy.setWeight(target, p);
  if (!c.watch) {
    h.update(`${p}%: waiting ${formatDuration(stepWaitMs)} (no deploy.rollbackOn: nothing is judged)`);
    await sleep(stepWaitMs, e.signal);
    e.signal.throwIfAborted();
    return h.ok(`${p}% for ${formatDuration(stepWaitMs)}, not watched`);
  }
  const r = await watchWindow({
    proxy,
    target,
    from,
    percent: p,
    ms: stepWaitMs,
    thresholds: c.watch.thresholds,
    since: c.watch.since,
    signal: e.signal,
    onTick: progress(h, `${p}%`),
    ...reviver(c),
  });
  e.signal.throwIfAborted();
  if (r.verdict.state === 'fail') {
    op.watch = watchRecord(r, p); // in history even if putting clients back fails
    const rollbackMs = await moveBack(() => proxy.setWeight(target, 0), reviver(c), r.at);
    op.watch = watchRecord(r, p, rollbackMs);
    throw failure(c, r, `failed its canary at ${p}%`, `every client is back on ${from} (in ${rollbackMs} ms)`);
  }
  op.watch = watchRecord(r, p);
  h.ok(`${p}% for ${formatDuration(r.windowMs)}: ${judged(r)}`);
}

/**
 * After the full switch: watch for deploy.watch; on a trip, switch back to `from` (still running),
 * put state.json back as it was before the switch, and fail. `before`: state.json before the switch.
 */
export async function watchStep(
  c: ShiftContext & { watch: NonNullable<ShiftContext['watch']> },
  ms: number,
  before: State,
  h: StepHandle,
): Promise<void> {
  const { e, op, proxy, target, from } = c;
  // No abort signal: traffic moved already, and finishing the watch is the safe path.
  const r = await watchWindow({
    proxy,
    target,
    from,
    percent: 100,
    ms,
    thresholds: c.watch.thresholds,
    since: c.watch.since,
    onTick: progress(h, 'live'),
    ...reviver(c),
  });
  if (r.verdict.state === 'fail') {
    op.watch = watchRecord(r, 100); // in history even if switching back fails
    const rollbackMs = await moveBack(() => proxy.switchTo(from), reviver(c), r.at);
    await writeState(e.paths, before);
    op.watch = watchRecord(r, 100, rollbackMs);
    throw failure(c, r, 'failed its watch after the switch', `switched back to ${from} in ${rollbackMs} ms`);
  }
  op.watch = watchRecord(r, 100);
  h.ok(judged(r));
}
