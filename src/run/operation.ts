/**
 * The life cycle every state-changing command shares: take the lock, open the journal, run the
 * body, append one history record (success, failed or aborted), undo what the body registered if
 * it failed before traffic moved, remove the journal, release the lock. Keeping it in one place
 * keeps I2, I4 and I5 the same everywhere.
 */
import { otherColour, type Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import {
  appendHistory,
  type CanaryControlRecord,
  type HistoryRecord,
  type WatchRecord,
  whoAmI,
} from '../state/history.js';
import { Journal, JOURNALED, type JournaledType } from '../state/journal.js';
import { acquireLock } from '../state/lock.js';
import { readState, type State } from '../state/state.js';
import type { Engine } from './context.js';
import { checkInterrupted, type InterruptedPolicy } from './interrupted.js';
import { newOperationId } from './steps.js';

export class Operation {
  readonly id = newOperationId();
  /** Wall-clock start, for the history record's time. */
  readonly t0 = Date.now();
  private readonly m0 = performance.now();
  /** Milliseconds since the start on the monotonic clock (a clock jump cannot make it negative). */
  elapsed(): number {
    return Math.round(performance.now() - this.m0);
  }
  from: Colour | null = null;
  to: Colour | null = null;
  /**
   * What the command was asked to do, read before its body ran: the history record of an
   * operation that fails before it sets `from`/`to` (an unknown target, a colour not running)
   * still says which move was refused. Never used for undo or recovery, which act only on what
   * the operation itself recorded.
   */
  asked: { from: Colour | null; to: Colour | null } = { from: null, to: null };
  release: string | null = null;
  /** The database backup this operation took (recorded in history). */
  backup: string | undefined;
  /** The live watch's figures, for the history record. */
  watch: WatchRecord | undefined;
  /** switch --weight: the percentage, for the history record. */
  weight: number | undefined;
  /** Canary steps ended early by another process (promote, abort), for the history record. */
  readonly canaryControl: CanaryControlRecord[] = [];
  /** What a successful operation did, for its history record (recover says what it recovered). */
  note: string | undefined;
  /** Set right before traffic moves: from then on finishing is safer than undoing, and Ctrl-C no longer aborts. */
  committed = false;
  /** This operation starts `to` itself, so undoing it stops `to` (rollback to a warm colour does not). */
  startsTarget: boolean;
  /** Present for journaled types (init, deploy, rollback, switch) while the operation runs. */
  journal: Journal | undefined;
  private readonly undo: Array<() => Promise<string | undefined>> = [];

  constructor(
    readonly type: HistoryRecord['type'],
    readonly flags: string[],
  ) {
    this.startsTarget = type === 'deploy' || type === 'init';
  }

  /**
   * Marks the point of no return, on disk before traffic moves: an interrupted operation whose
   * journal is not committed never switched the proxy, so recovery may simply undo it.
   */
  async commit(): Promise<void> {
    this.committed = true;
    try {
      await this.journal?.write();
    } catch (e) {
      // Not on disk, so not committed: traffic has not moved, and the failure is undone as usual.
      this.committed = false;
      throw e;
    }
  }

  /** Registers an undo step for a failure before the switch; it returns what it did, for the message. */
  onFailure(fn: () => Promise<string | undefined>): void {
    this.undo.push(fn);
  }

  /** state.lastDeploy for this operation. */
  summary(): NonNullable<State['lastDeploy']> {
    return {
      id: this.id,
      type: this.type,
      at: new Date().toISOString(),
      from: this.from,
      to: this.to!,
      release: this.release,
      result: 'success',
    };
  }

  async undoAll(e: Engine): Promise<string[]> {
    const done: string[] = [];
    for (const fn of [...this.undo].reverse()) {
      try {
        const what = await fn();
        if (what) done.push(what);
      } catch (err) {
        e.reporter.warn(`while undoing: ${errorMessage(err)}`);
      }
    }
    return done;
  }
}

function record(e: Engine, op: Operation, result: HistoryRecord['result'], reason?: string): HistoryRecord {
  return {
    id: op.id,
    type: op.type,
    time: new Date(op.t0).toISOString(),
    who: whoAmI(),
    from: op.from ?? op.asked.from,
    to: op.to ?? op.asked.to,
    release: op.release,
    result,
    ...(reason ? { reason } : {}),
    ms: op.elapsed(),
    ...(op.flags.length ? { flags: op.flags } : {}),
    ...(op.backup ? { backup: op.backup } : {}),
    ...(op.watch ? { watch: op.watch } : {}),
    ...(op.weight !== undefined ? { weight: op.weight } : {}),
    ...(op.canaryControl.length ? { canaryControl: op.canaryControl } : {}),
    ...(e.origin ? { origin: e.origin } : {}),
  };
}

/** Where the proxy sends traffic; undefined when it cannot be asked (not running). */
async function trafficOn(e: Engine): Promise<Colour | null | undefined> {
  return (await e.proxy.alive().catch(() => undefined))?.active;
}

const isJournaled = (t: HistoryRecord['type']): t is JournaledType => (JOURNALED as readonly string[]).includes(t);

export interface OperationOptions {
  forceUnlock?: boolean;
  flags?: string[];
  /** What to do with a journal left by an interrupted operation (default: see interrupted.ts). */
  interrupted?: InterruptedPolicy;
  /** The colour the command was asked to move to (switch), for the history record; see Operation.asked. */
  to?: Colour;
}

/**
 * The move a command asks for, from state.json as it was before its body ran: the target a switch
 * names, the other colour for deploy and rollback, blue for init.
 */
async function askedMove(e: Engine, type: HistoryRecord['type'], to: Colour | undefined): Promise<Operation['asked']> {
  // An unreadable state.json is the body's to report (it reads it again): here it only means
  // that the record names no colour.
  if (type === 'init') return { from: null, to: 'blue' };
  if (type !== 'switch' && type !== 'deploy' && type !== 'rollback') return { from: null, to: null };
  const active = (await readState(e.paths).catch(() => undefined))?.active ?? null;
  return { from: active, to: type === 'switch' ? (to ?? null) : active && otherColour(active) };
}

export async function runOperation<T>(
  e: Engine,
  type: HistoryRecord['type'],
  opts: OperationOptions,
  body: (op: Operation) => Promise<T>,
): Promise<T> {
  // Before the lock: an interrupted operation left a stale lock too, and its journal is the better explanation.
  const discard = await checkInterrupted(e, type, opts.interrupted);
  const lock = await acquireLock(e.paths, type, { forceUnlock: opts.forceUnlock });
  const op = new Operation(type, opts.flags ?? []);
  try {
    op.asked = await askedMove(e, type, opts.to);
    if (isJournaled(type)) {
      op.journal = await Journal.create(e.paths, { id: op.id, type, flags: op.flags }, () => ({
        from: op.from,
        to: op.to,
        release: op.release,
        backup: op.backup ?? null,
        startsTarget: op.startsTarget,
        committed: op.committed,
      }));
    }
    const value = await body(op);
    await appendHistory(e.paths, record(e, op, 'success', op.note), e.redact);
    await op.journal?.remove();
    await discard?.();
    return value;
  } catch (err) {
    let error = err;
    // Committed, but the proxy still (or again) sends traffic elsewhere than the target (the switch
    // was refused, or verification failed and switched back): undoing is as safe as before the switch.
    if (op.committed && op.to) {
      const on = await trafficOn(e);
      if (on !== undefined && on !== op.to) op.committed = false;
    }
    if (!op.committed) {
      if (e.signal.aborted)
        error = new SwitchyardError('INTERRUPTED', `interrupted${op.from ? `: ${op.from} is still serving` : ''}`, {
          cause: err,
        });
      const undone = await op.undoAll(e);
      if (op.from) e.reporter.warn([...undone, `${op.from} is still serving; state.json is unchanged`].join('; '));
      await op.journal?.remove().catch(() => undefined);
    } else if (op.journal) {
      // Traffic may have moved and nothing was undone: the journal stays for `switchyard recover`.
      await op.journal.keepFailed(errorMessage(error));
      e.reporter.warn(
        'the operation stopped after traffic may have moved' +
          ': run `switchyard recover` to make the proxy, the colours and state.json agree',
      );
    }
    const aborted = error instanceof SwitchyardError && (error.code === 'ABORTED' || error.code === 'INTERRUPTED');
    await appendHistory(e.paths, record(e, op, aborted ? 'aborted' : 'failed', errorMessage(error)), e.redact).catch(
      () => undefined,
    );
    throw error;
  } finally {
    await lock.release();
  }
}
