/**
 * canary promote|abort: end the running deploy's canary step early, from another process (the
 * CLI in another terminal, the dashboard). The deploy holds the lock, so this takes none: it
 * leaves a request for the lock holder (state/canary-request.ts) and waits, bounded, for its
 * answer. The deploy's side of the exchange (canaryInbox) is polled by each canary step below
 * 100% while it waits (run/shift.ts). Changes nothing itself; refuses when no canary step waits.
 */
import { randomBytes } from 'node:crypto';
import { formatDuration } from '../config/duration.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import {
  type CanaryAck,
  type CanaryAction,
  CANARY_ACTIONS,
  type CanaryRequest,
  isCanaryAction,
  matchRequest,
  publishRequest,
  readAck,
  removeAck,
  removeRequest,
  requestWaiting,
  type RunningCanary,
  runningCanary,
  takeRequest,
  withdrawRequest,
  writeAck,
} from '../state/canary-request.js';
import { whoAmI } from '../state/history.js';
import { ownerAlive, readJournal } from '../state/journal.js';
import { sleep } from '../util/sleep.js';
import type { Engine } from './context.js';

export type { CanaryAction } from '../state/canary-request.js';

/** How long the requester waits for the deploy to take the request, and then for its answer. */
export const CANARY_WAIT_MS = 10_000;
const POLL_MS = 100;

export interface CanaryControlOptions {
  /** How long to wait for the deploy to take the request (default 10 s). */
  timeoutMs?: number;
}

export interface CanaryControlResult {
  action: CanaryAction;
  /** The deploy's journal id. */
  operation: string;
  /** The canary step's percent. */
  percent: number;
  by: string;
  origin: string;
  /** How long the step had waited when the deploy took the request (ms). */
  afterMs: number;
  /** What the deploy said it did. */
  message: string;
}

/** The canary step the running deploy waits in now, or a NO_CANARY error saying why there is none. */
async function currentStep(e: Engine): Promise<RunningCanary> {
  const j = await readJournal(e.paths);
  const step = runningCanary(j, j ? await ownerAlive(j.owner) : false);
  if ('refused' in step) throw new SwitchyardError('NO_CANARY', step.refused, { hint: step.hint });
  return step;
}

/** Whether the deploy still waits in the same step (it may have gone on, failed or finished). */
async function stillIn(e: Engine, s: RunningCanary): Promise<boolean> {
  const now = await currentStep(e).catch(() => undefined);
  return now?.operation === s.operation && now.percent === s.percent;
}

/** Leaves the request; a valid one for the same step already waiting is refused, a stale one replaced. */
async function leave(e: Engine, q: CanaryRequest, s: RunningCanary): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const inTheWay = await publishRequest(e.paths, q);
    if (!inTheWay) return;
    const m = matchRequest(inTheWay.existing, s);
    if ('take' in m)
      throw new SwitchyardError(
        'LOCKED',
        `a canary ${m.take.action} by ${m.take.by} from ${m.take.origin} is already waiting for deploy ${s.operation}`,
        { hint: 'the deploy takes it within a second; see `switchyard status` and `switchyard history`' },
      );
    if (attempt > 0)
      throw new SwitchyardError('NO_CANARY', `another request keeps ${e.paths.canaryRequest} in the way`, {
        hint: 'try again in a moment',
      });
    await removeRequest(e.paths);
  }
}

function resultOf(q: CanaryRequest, s: RunningCanary, a: CanaryAck): CanaryControlResult {
  if (a.outcome === 'ignored')
    throw new SwitchyardError('NO_CANARY', `deploy ${s.operation} ignored the ${q.action}: ${a.message}`, {
      hint: '`switchyard status` shows where the deploy is now',
    });
  return {
    action: q.action,
    operation: q.operation,
    percent: q.percent,
    by: q.by,
    origin: q.origin,
    afterMs: a.afterMs ?? 0,
    message: a.message,
  };
}

/**
 * Promotes (ends the wait, on to the next step) or aborts (every client back on the old colour,
 * the deploy fails with CANARY_ABORTED) the canary step the running deploy waits in. Returns
 * once the deploy has answered; refuses (NO_CANARY) with nothing changed when no deploy waits in
 * a canary step below 100%, and fails (TIMEOUT) with its request withdrawn when the deploy does
 * not take it in time.
 */
export async function canaryControl(
  e: Engine,
  action: CanaryAction,
  opts: CanaryControlOptions = {},
): Promise<CanaryControlResult> {
  if (!isCanaryAction(action))
    throw new SwitchyardError('USAGE', `unknown canary action ${JSON.stringify(action)}`, {
      hint: `expected one of: ${CANARY_ACTIONS.join(', ')}`,
    });
  const s = await currentStep(e);
  const q: CanaryRequest = {
    id: randomBytes(8).toString('hex'),
    operation: s.operation,
    action,
    percent: s.percent,
    by: whoAmI(),
    origin: e.origin ?? 'cli',
    at: new Date().toISOString(),
  };
  await leave(e, q, s);
  const waitMs = opts.timeoutMs ?? CANARY_WAIT_MS;
  let deadline = performance.now() + waitMs;
  let taken = false;
  const takenNow = () => {
    // The deploy has it: its answer follows (an abort first puts every client back).
    taken = true;
    deadline = performance.now() + CANARY_WAIT_MS;
  };
  for (;;) {
    const a = await readAck(e.paths, q.id);
    if (a) {
      await removeAck(e.paths, q.id).catch(() => undefined);
      return resultOf(q, s, a);
    }
    if (!taken && !(await requestWaiting(e.paths, q.id))) takenNow();
    if (!taken) {
      const gone = !(await stillIn(e, s));
      if (gone || e.signal.aborted || performance.now() > deadline) {
        if (await withdrawRequest(e.paths, q.id)) throw notTaken(e, q, s, gone, waitMs);
        takenNow(); // taken at that very moment
        continue;
      }
    } else if (e.signal.aborted || performance.now() > deadline) {
      throw new SwitchyardError(
        e.signal.aborted ? 'INTERRUPTED' : 'TIMEOUT',
        `deploy ${s.operation} took the ${action} but did not answer` +
          (e.signal.aborted ? ' before the interruption' : ` within ${formatDuration(CANARY_WAIT_MS)}`),
        { hint: '`switchyard status` and `switchyard history` show what the deploy did' },
      );
    }
    await sleep(POLL_MS, e.signal);
  }
}

function notTaken(e: Engine, q: CanaryRequest, s: RunningCanary, gone: boolean, waitMs: number): SwitchyardError {
  if (e.signal.aborted)
    return new SwitchyardError('INTERRUPTED', `interrupted: the ${q.action} was withdrawn, nothing changed`);
  if (gone)
    return new SwitchyardError(
      'NO_CANARY',
      `the ${s.percent}% step of deploy ${s.operation} ended before the deploy took the ${q.action}` +
        ': withdrawn, nothing changed',
      { hint: '`switchyard status` shows where the deploy is now' },
    );
  return new SwitchyardError(
    'TIMEOUT',
    `deploy ${s.operation} did not take the ${q.action} within ${formatDuration(waitMs)}: withdrawn, nothing changed`,
    { hint: 'the deploy may be busy (a proxy restart); `switchyard status` shows it, and you can try again' },
  );
}

/** The deploy's side: what a canary step below 100% polls while it waits, and how it answers. */
export interface CanaryInbox {
  /** A request for this step, taken (the file is gone); a stale one is answered `ignored` and dropped. */
  poll(): Promise<CanaryRequest | undefined>;
  answer(q: CanaryRequest, outcome: CanaryAck['outcome'], message: string, afterMs?: number): Promise<void>;
  /** Whether `q` was answered (a request taken and then not acted on is answered `ignored`). */
  answered(q: CanaryRequest): boolean;
}

export function canaryInbox(e: Engine, step: { operation: string; percent: number }): CanaryInbox {
  let warned = false;
  const done = new Set<string>();
  const warnOnce = (text: string) => {
    if (!warned) e.reporter.warn(text);
    warned = true;
  };
  const ack = (q: CanaryRequest, outcome: CanaryAck['outcome'], message: string, afterMs?: number) =>
    writeAck(e.paths, {
      ...q,
      outcome,
      message,
      ...(afterMs === undefined ? {} : { afterMs }),
      answeredAt: new Date().toISOString(),
    });
  return {
    async poll() {
      try {
        const found = await takeRequest(e.paths);
        if (!found) return undefined;
        const m = matchRequest(found.raw, step);
        if ('take' in m) return m.take;
        e.reporter.warn(`ignored a canary request: ${m.stale}`);
        if (m.request) await ack(m.request, 'ignored', m.stale);
      } catch (err) {
        // A request the deploy cannot read must not fail the deploy: it waits out its step as usual.
        warnOnce(`cannot read canary requests (${errorMessage(err)}); the step waits as usual`);
      }
      return undefined;
    },
    answered: (q) => done.has(q.id),
    async answer(q, outcome, message, afterMs) {
      done.add(q.id);
      await ack(q, outcome, message, afterMs).catch((err) =>
        e.reporter.warn(`could not answer the canary ${q.action} (${errorMessage(err)})`),
      );
    },
  };
}
