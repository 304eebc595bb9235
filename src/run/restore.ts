/**
 * `restore <file|latest>`: put a backup back into the database. The current data is dumped first
 * (a safety backup, so a restore is itself undoable), then the dump is restored in one transaction
 * where the format allows, and the row counts of the tables are reported. Holds the deploy lock:
 * no deploy or rollback runs against a database being restored.
 */
import { resolveRestoreTarget } from '../backup/index.js';
import type { BackupMeta, Backupper, RestoreResult } from '../backup/types.js';
import { SwitchyardError } from '../errors.js';
import { backupFor, pruneBackups } from './backup.js';
import type { Engine } from './context.js';
import { runOperation } from './operation.js';

export interface RestoreOutcome {
  restored: BackupMeta;
  safety: BackupMeta;
  result: RestoreResult;
}

export function requireBackupper(e: Engine): Backupper {
  const b = backupFor(e);
  if (!b) {
    throw new SwitchyardError('USAGE', 'no database backup is configured (backup.kind: none)', {
      hint:
        'add e.g. `backup: { kind: postgres, url: "${DATABASE_URL}" }`' +
        ' (or container: db with the docker runtime) to switchyard.yml',
    });
  }
  return b;
}

export async function restore(
  e: Engine,
  which: string,
  opts: { yes?: boolean; forceUnlock?: boolean } = {},
): Promise<RestoreOutcome> {
  const b = requireBackupper(e);
  const target = await resolveRestoreTarget(e.loaded.config.backup, e.paths.root, which);
  if (!opts.yes && !e.asker.interactive) {
    throw new SwitchyardError(
      'NEEDS_TTY',
      `restore replaces the database's data with ${target.name} and asks first, but there is no terminal to ask on`,
      {
        hint: 'pass --yes if you really mean to restore it',
      },
    );
  }
  return runOperation(e, 'restore', { forceUnlock: opts.forceUnlock, flags: opts.yes ? ['yes'] : [] }, async (op) => {
    if (
      !opts.yes &&
      !(await e.asker.confirm(`Replace the data of ${b.describe()} with ${target.name} (taken ${target.at})?`, false))
    ) {
      throw new SwitchyardError('ABORTED', 'not restored: you answered no');
    }
    e.reporter.info(`Taking a safety backup of the current data first...`);
    const safety = await b.backup({ reason: 'pre-restore', signal: e.signal });
    op.backup = safety.file;
    e.reporter.info(`✓ safety backup ${safety.name}; to undo this restore: switchyard restore ${safety.name} --yes`);
    e.reporter.info(`Restoring ${target.name} into ${b.describe()}...`);
    let result: RestoreResult;
    try {
      result = await b.restore(target.file, { signal: e.signal });
    } catch (err) {
      if (err instanceof SwitchyardError) {
        throw new SwitchyardError(err.code, err.message, {
          details: err.details,
          cause: err,
          hint: `${err.hint ? `${err.hint}. ` : ''}The data before this restore is in ${safety.name}`,
        });
      }
      throw err;
    }
    await pruneBackups(e, [target.name, safety.name]);
    return { restored: target, safety, result };
  });
}
