/**
 * What a command does when it finds the journal of an interrupted operation. Most refuse: acting
 * on top of a half-done deploy (a colour started but never switched to, or traffic moved but
 * state.json not yet written) would compound it, so they name it and point at `switchyard recover`.
 */
import { SwitchyardError } from '../errors.js';
import { describeInterruption } from '../plan/recover.js';
import type { HistoryRecord } from '../state/history.js';
import { JOURNALED, readInterrupted, removeJournal, type JournalData } from '../state/journal.js';
import type { Engine } from './context.js';

/**
 * refuse: exit 4 naming `switchyard recover` (nothing changed);
 * replace: carry on, the command's own journal takes its place (`switch --force`, a manual repair);
 * discard: carry on, and drop it once the command succeeded (`down`: nothing is left to recover);
 * ignore: not this command's business (`restore`, and `recover` itself).
 */
export type InterruptedPolicy = 'refuse' | 'replace' | 'discard' | 'ignore';

export function defaultPolicy(type: HistoryRecord['type']): InterruptedPolicy {
  if ((JOURNALED as readonly string[]).includes(type)) return 'refuse';
  return type === 'down' ? 'discard' : 'ignore';
}

export function interruptedError(j: JournalData): SwitchyardError {
  return new SwitchyardError('INCONSISTENT', describeInterruption(j), {
    details: ['nothing was changed by this command'],
    hint:
      'run `switchyard recover` to finish or undo it, then run the command again' +
      ' (deploy and rollback take --recover to do both in one go)',
  });
}

/** Applies the policy; returns what to do once the command succeeded (discard), if anything. */
export async function checkInterrupted(
  e: Engine,
  type: HistoryRecord['type'],
  policy = defaultPolicy(type),
): Promise<(() => Promise<void>) | undefined> {
  if (policy === 'ignore') return undefined;
  const j = await readInterrupted(e.paths);
  if (!j) return undefined;
  if (policy === 'refuse') throw interruptedError(j);
  e.reporter.warn(
    `${describeInterruption(j)}; ` +
      (policy === 'replace'
        ? 'its journal is replaced by this command'
        : 'its journal is dropped once this command succeeds'),
  );
  return policy === 'discard' ? () => removeJournal(e.paths) : undefined;
}
