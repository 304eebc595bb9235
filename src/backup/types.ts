/**
 * Database backups: the contract between the deploy/restore flows (src/run) and the ways of
 * reaching a database (src/backup). A Backupper writes complete dumps only (temp name, renamed
 * after success and verification, mode 0600 in a 0700 folder, I6) and never puts a password in
 * argv, output or history (I8).
 */
import type { Readable, Writable } from 'node:stream';

export type BackupReason = 'deploy' | 'manual' | 'pre-restore';

export interface BackupMeta {
  /** Absolute path of the dump. */
  file: string;
  /** Its file name: db-backup-<yyyymmdd>-<hhmmss>-<id>.<dump|sql|ext>. */
  name: string;
  /** When it was taken (ISO). */
  at: string;
  /** The deploy (history id) it was taken for; absent for manual and pre-restore backups. */
  deployId?: string;
  reason: BackupReason;
  /** custom | plain for postgres; the extension for kind: command. */
  format: string;
  bytes: number;
  /**
   * True only when the dump was read back after writing (custom: `pg_restore --list`; plain: its closing "dump
   * complete" line). A `kind: command` dump is only checked non-empty: false.
   */
  verified: boolean;
  /** How long the dump took. */
  ms: number;
}

export interface RestoreResult {
  /** Row counts of the database's tables after the restore (schema.table), where the kind can tell. */
  tables: { name: string; rows: number }[];
  ms: number;
}

export interface Backupper {
  /** One line for output: what is backed up, e.g. "postgres ala_production in container ala-db". Never a password. */
  describe(): string;
  backup(opts: { reason: BackupReason; deployId?: string; signal?: AbortSignal }): Promise<BackupMeta>;
  /** Complete backups in dir, newest first (partial temp files are never listed). */
  list(): Promise<BackupMeta[]>;
  /** Deletes complete backups beyond `keep`, oldest first, never a file named in `protect`. Returns names removed. */
  prune(protect: string[]): Promise<string[]>;
  /** Restores a complete backup (a path, or a name in dir) into the database. The caller takes the safety backup. */
  restore(file: string, opts?: { signal?: AbortSignal }): Promise<RestoreResult>;
  /** Health level 4, direct: the database accepts a connection and answers SELECT 1. Throws DATABASE_UNREACHABLE. */
  ping?(opts?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
}

/**
 * Runs one PostgreSQL client program (pg_dump, pg_restore, psql) where the database is reachable:
 * on this machine with connection settings in the environment (url), or inside the database's
 * container (docker exec). argv never holds a password.
 */
export interface PgTool {
  /** For messages: "this machine's pg_dump" / "pg_dump in container ala-db". */
  where(program: string): string;
  run(
    program: 'pg_dump' | 'pg_restore' | 'psql',
    args: string[],
    io: { stdin?: Readable; stdout?: Writable; timeoutMs: number; signal?: AbortSignal },
  ): Promise<{ code: number; stderr: string; stdout: string }>;
}
