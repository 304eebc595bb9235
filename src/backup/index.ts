/** Opening the configured Backupper, and what the CLI needs around it. */
import path from 'node:path';
import type { BackupConfig, PostgresBackupConfig } from '../config/backup-schema.js';
import { SwitchyardError } from '../errors.js';
import { commandBackupper } from './command.js';
import { listBackups, resolveBackup } from './files.js';
import { hostPgTool } from './pg-host.js';
import { postgresBackupper } from './postgres.js';
import type { Backupper, BackupMeta, PgTool } from './types.js';

export type { Backupper, BackupMeta, BackupReason, PgTool, RestoreResult } from './types.js';
export { hostPgTool } from './pg-host.js';

export interface OpenBackupContext {
  projectDir: string;
  app: string;
  redact: (s: string) => string;
  /** Runs the client programs inside the database's container (backup.container). */
  containerTool?: (cfg: PostgresBackupConfig) => PgTool;
}

/** The Backupper for backup:, or undefined for kind: none. */
export function openBackupper(cfg: BackupConfig, ctx: OpenBackupContext): Backupper | undefined {
  const bctx = { projectDir: ctx.projectDir, redact: ctx.redact };
  switch (cfg.kind) {
    case 'none':
      return undefined;
    case 'command':
      return commandBackupper(cfg, bctx);
    case 'postgres': {
      if (cfg.url !== undefined) return postgresBackupper(cfg, hostPgTool(cfg.url), bctx);
      if (!ctx.containerTool) {
        throw new SwitchyardError(
          'CONFIG_INVALID',
          `backup.container (${cfg.container ?? ''}) needs the docker runtime to reach the container`,
          {
            hint: "use runtime: docker with a shared service, or give backup.url to dump with this machine's pg_dump",
          },
        );
      }
      return postgresBackupper(cfg, ctx.containerTool(cfg), bctx);
    }
  }
}

/** The absolute backup folder of a config (kind none has none). */
export function backupDir(cfg: BackupConfig, projectDir: string): string | undefined {
  return cfg.kind === 'none' ? undefined : path.resolve(projectDir, cfg.dir);
}

/**
 * What `switchyard restore <ref>` means: `latest` (the newest complete backup), a name in the
 * backup folder, or a path. Resolve before taking the pre-restore safety backup.
 */
export async function resolveRestoreTarget(
  cfg: BackupConfig,
  projectDir: string,
  ref: string,
  cwd = process.cwd(),
): Promise<BackupMeta> {
  const dir = backupDir(cfg, projectDir);
  if (dir === undefined)
    throw new SwitchyardError('RESTORE_FAILED', 'no database backups are configured (backup.kind: none)', {
      hint: 'configure backup: in switchyard.yml',
    });
  return resolveBackup(dir, ref, { allowLatest: true, cwd });
}

/** Complete backups of a config, newest first, without opening a connection. */
export async function listConfiguredBackups(cfg: BackupConfig, projectDir: string): Promise<BackupMeta[]> {
  const dir = backupDir(cfg, projectDir);
  return dir === undefined ? [] : listBackups(dir);
}

export { backupName, parseBackupName, listBackups, pruneBackups, resolveBackup } from './files.js';
export { describePgUrl, parsePgUrl } from './pg-host.js';
