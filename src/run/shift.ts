/**
 * The traffic moves of a deploy beyond the single switch (issue 6): canary steps (a sticky share
 * of clients on the new colour, each step watched), and the watch after the full switch. A step
 * that trips deploy.rollbackOn puts every client back on the old colour by itself and fails the
 * deploy (exit 1) with the figures in the message and in history. Another process can end a
 * canary step's wait early (`switchyard canary promote|abort`, run/canary-control.ts).
 */
import type { RollbackOn } from '../config/canary-schema.js';
import { formatDuration } from '../config/duration.js';
import { COLOURS, type Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import type { TrafficStats } from '../proxy/stats.js';
import type { ProxyControl } from '../proxy/types.js';
import type { CanaryRequest } from '../state/canary-request.js';
import { writeState, type State } from '../state/state.js';
import { describeFigures, type Verdict } from '../watch/judge.js';
import { canaryInbox, type CanaryInbox } from './canary-control.js';
import type { Engine } from './context.js';
import type { Operation } from './operation.js';
import type { StepHandle } from './reporter.js';
import { WATCH_POLL_MS, watchRecord, watchWindow, type WatchResult } from './watch.js';
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

/** What is open per colour, for the watch's progress line: `open streams: blue 1 SSE` (nothing when none). */
function openStreams(now: TrafficStats): string {
  const parts = COLOURS.flatMap((c) => {
    const o = now.open?.[c];
    const what = [o?.sse ? `${o.sse} SSE` : '', o?.websockets ? `${o.websockets} WebSocket` : ''].filter(Boolean);
    return what.length ? [`${c} ${what.join(', ')}`] : [];
  });
  return parts.length ? `; open streams: ${parts.join('; ')}` : '';
}

function progress(h: StepHandle, label: string) {
  return (v: Verdict, left: number, now: TrafficStats) =>
    h.update(`${label}: ${describeFigures(v.target)}${openStreams(now)}; ${Math.ceil(left / 1000)} s left`);
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

/** Waits `ms` in slices of at most WATCH_POLL_MS, asking `interrupt` at each; true when it ended the wait. */
async function waitOrInterrupt(ms: number, signal: AbortSignal, interrupt: () => Promise<boolean>): Promise<boolean> {
  const t0 = performance.now();
  for (;;) {
    if (await interrupt()) return true;
    const left = ms - (performance.now() - t0);
    if (left <= 0 || signal.aborted) return false;
    await sleep(Math.min(WATCH_POLL_MS, left), signal);
  }
}

/**
 * A promote or abort taken from another process (run/canary-control.ts) at the end of the step's
 * wait. Promote: the step ends well (`line` is its usual ok line). Abort: every client goes back
 * on the old colour now, and the deploy fails; its undo then stops the target.
 */
async function controlled(
  c: ShiftContext,
  p: number,
  q: CanaryRequest,
  ctl: { inbox: CanaryInbox; t0: number; line: string },
  h: StepHandle,
): Promise<void> {
  const { op, proxy, target, from } = c;
  const afterMs = Math.round(performance.now() - ctl.t0);
  const who = `by ${q.by} from ${q.origin} after ${formatDuration(afterMs)}`;
  op.canaryControl.push({ action: q.action, percent: p, by: q.by, origin: q.origin, afterMs });
  if (q.action === 'promote') {
    const note = `canary ${p}% promoted ${who}`;
    op.note = op.note ? `${op.note}; ${note}` : note;
    await ctl.inbox.answer(q, 'promoted', 'the deploy goes on to the next step', afterMs);
    return h.ok(`${ctl.line}; promoted ${who}`);
  }
  let back: string;
  try {
    const ms = await moveBack(() => proxy.setWeight(target, 0), reviver(c), performance.now());
    back = `every client is back on ${from} (in ${ms} ms)`;
  } catch (err) {
    back = `putting every client back on ${from} failed (${errorMessage(err)}); the deploy's undo tries again`;
  }
  await ctl.inbox.answer(q, 'aborted', `${back}; the deploy stops ${target} and fails`, afterMs);
  throw new SwitchyardError('CANARY_ABORTED', `canary aborted at ${p}% ${who}: ${back}`, {
    hint: '`switchyard status` shows what serves; `switchyard history` records the abort',
  });
}

/**
 * One canary step below 100% (the full switch is its own step). The first registers the undo that
 * puts every client back on the old colour after any failure or Ctrl-C from there on. While it
 * waits, the journal says so (`canary`), and a promote or abort from another process ends the wait.
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
  const inbox = canaryInbox(e, { operation: op.id, percent: p });
  let asked: CanaryRequest | undefined;
  const interrupt = async () => (asked = await inbox.poll()) !== undefined;
  const t0 = performance.now();
  await op.journal?.canaryWait({ percent: p, startedAt: new Date().toISOString() });
  try {
    if (!c.watch) {
      h.update(`${p}%: waiting ${formatDuration(stepWaitMs)} (no deploy.rollbackOn: nothing is judged)`);
      await waitOrInterrupt(stepWaitMs, e.signal, interrupt);
      e.signal.throwIfAborted();
      if (asked) return await controlled(c, p, asked, { inbox, t0, line: `${p}%, not watched` }, h);
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
      interrupt,
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
    const line = `${p}% for ${formatDuration(r.windowMs)}: ${judged(r)}`;
    if (asked) return await controlled(c, p, asked, { inbox, t0, line }, h);
    h.ok(line);
  } finally {
    // Taken but not acted on (Ctrl-C at that moment, a failure): the requester hears so at once.
    if (asked && !inbox.answered(asked))
      await inbox.answer(asked, 'ignored', 'the step ended before it could act on it');
    await op.journal?.canaryWait(undefined).catch(() => undefined);
  }
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
