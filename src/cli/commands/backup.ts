/** `backup`, `backups` and `restore`: the database backups on demand (deploy takes its own). */
import type { Command } from 'commander';
import { verificationOf } from '../../backup/files.js';
import { backupFor, describeBackup, formatBytes, protectedBackups, pruneBackups } from '../../run/backup.js';
import { requireBackupper, restore } from '../../run/restore.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerBackup(program: Command, _setExit: SetExit): void {
  program
    .command('backup')
    .description(
      'Back up the database now, as deploy does first (backup: in switchyard.yml). Keeps the newest backup.keep.',
    )
    .action(async (_o: unknown, cmd: Command) => {
      const { engine: e, render } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      const b = requireBackupper(e);
      render.info(`Backing up ${b.describe()}...`);
      const meta = await b.backup({ reason: 'manual', signal: e.signal });
      render.event('backup', { ...meta });
      render.info(`✓ ${describeBackup(meta)}`);
      render.info(`  ${meta.file}`);
      await pruneBackups(e, [meta.name]);
    });
}

export function registerBackups(program: Command, _setExit: SetExit): void {
  program
    .command('backups')
    .description('List the complete backups, newest first: time, size, format, deploy, whether it was verified.')
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { engine: e, render } = await openEngine(g);
      const b = backupFor(e);
      if (!b) return render.info('no database backup is configured (backup.kind: none)');
      const all = await b.list();
      if (wantsJson(g)) {
        for (const m of all) render.event('backup', { ...m });
        return;
      }
      if (all.length === 0)
        return render.info(
          `no backups yet in ${e.loaded.config.backup.kind === 'none' ? '' : e.loaded.config.backup.dir}` +
            `; take one with \`switchyard backup\``,
        );
      const kept = new Set(await protectedBackups(e));
      for (const m of all) {
        const why = m.deployId ? `deploy ${m.deployId}` : m.reason;
        const flags = [verificationOf(m), kept.has(m.name) ? 'kept for a deployed release' : '']
          .filter(Boolean)
          .join(', ');
        render.info(
          `${m.at}  ${formatBytes(m.bytes).padStart(10)}  ${m.format.padEnd(6)}` +
            `  ${why.padEnd(24)}  ${m.name}  (${flags})`,
        );
      }
    });
}

export function registerRestore(program: Command, _setExit: SetExit): void {
  program
    .command('restore')
    .description(
      'Restore the database from a backup.' +
        ' Takes a safety backup of the current data first, asks before replacing (or --yes), then reports row counts.',
    )
    .argument('<backup>', 'a backup file name (see `switchyard backups`), its path, or "latest"')
    .option('-y, --yes', 'do not ask (needed without a terminal)')
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .action(async (which: string, o: { yes?: boolean; forceUnlock?: boolean }, cmd: Command) => {
      const { engine: e, render } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      const out = await restore(e, which, o);
      render.event('restore', {
        restored: out.restored.name,
        safety: out.safety.name,
        ms: out.result.ms,
        tables: out.result.tables,
      });
      const rows = out.result.tables.reduce((n, t) => n + t.rows, 0);
      render.info(
        `✓ Restored ${out.restored.name} in ${(out.result.ms / 1000).toFixed(1)}` +
          ` s: ${out.result.tables.length} tables, ${rows} rows`,
      );
      for (const t of out.result.tables) render.info(`  ${t.name.padEnd(40)} ${String(t.rows).padStart(10)}`);
      render.info(`  the data before the restore: ${out.safety.name}`);
    });
}
