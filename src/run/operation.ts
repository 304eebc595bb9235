/**
 * The life cycle every state-changing command shares: take the lock, run the body, append one
 * history record (success, failed or aborted), undo what the body registered if it failed before
 * traffic moved, release the lock. Keeping it in one place keeps I2 and I5 the same everywhere.
 */
import type { Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { appendHistory, whoAmI, type HistoryRecord } from '../state/history.js';
import { acquireLock } from '../state/lock.js';
import type { State } from '../state/state.js';
import type { Engine } from './context.js';
import { newOperationId } from './steps.js';

export class Operation {
  readonly id = newOperationId();
  readonly t0 = Date.now();
  from: Colour | null = null;
  to: Colour | null = null;
  release: string | null = null;
  /** The database backup this operation took (recorded in history). */
  backup: string | undefined;
  /** Set right before traffic moves: from then on finishing is safer than undoing, and Ctrl-C no longer aborts. */
  committed = false;
  private readonly undo: Array<() => Promise<string | undefined>> = [];

  constructor(
    readonly type: HistoryRecord['type'],
    readonly flags: string[],
  ) {}

  /** Registers an undo step for a failure before the switch; it returns what it did, for the message. */
  onFailure(fn: () => Promise<string | undefined>): void {
    this.undo.push(fn);
  }

  /** state.lastDeploy for this operation. */
  summary(): NonNullable<State['lastDeploy']> {
    return { id: this.id, type: this.type, at: new Date().toISOString(), from: this.from, to: this.to!, release: this.release, result: 'success' };
  }

  async undoAll(e: Engine): Promise<string[]> {
    const done: string[] = [];
    for (const fn of this.undo.reverse()) {
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

function record(op: Operation, result: HistoryRecord['result'], reason?: string): HistoryRecord {
  return {
    id: op.id,
    type: op.type,
    time: new Date(op.t0).toISOString(),
    who: whoAmI(),
    from: op.from,
    to: op.to,
    release: op.release,
    result,
    ...(reason ? { reason } : {}),
    ms: Date.now() - op.t0,
    ...(op.flags.length ? { flags: op.flags } : {}),
    ...(op.backup ? { backup: op.backup } : {}),
  };
}

export async function runOperation<T>(e: Engine, type: HistoryRecord['type'], opts: { forceUnlock?: boolean; flags?: string[] }, body: (op: Operation) => Promise<T>): Promise<T> {
  const lock = await acquireLock(e.paths, type, { forceUnlock: opts.forceUnlock });
  const op = new Operation(type, opts.flags ?? []);
  try {
    const value = await body(op);
    await appendHistory(e.paths, record(op, 'success'), e.redact);
    return value;
  } catch (err) {
    let error = err;
    if (!op.committed) {
      if (e.signal.aborted) error = new SwitchyardError('INTERRUPTED', `interrupted${op.from ? `: ${op.from} is still serving` : ''}`, { cause: err });
      const undone = await op.undoAll(e);
      if (op.from) e.reporter.warn([...undone, `${op.from} is still serving; state.json is unchanged`].join('; '));
    }
    const aborted = error instanceof SwitchyardError && (error.code === 'ABORTED' || error.code === 'INTERRUPTED');
    await appendHistory(e.paths, record(op, aborted ? 'aborted' : 'failed', errorMessage(error)), e.redact).catch(() => undefined);
    throw error;
  } finally {
    await lock.release();
  }
}
