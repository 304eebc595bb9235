/**
 * Backupper for `backup.kind: postgres` over any PgTool (this machine's programs or the ones in
 * the database's container). Dumps go to stdout and dumps are fed back on stdin, so the programs
 * never need to see our file system: the same code works where they run in a container.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { PostgresBackupConfig } from '../config/backup-schema.js';
import { SwitchyardError, type ErrorCode } from '../errors.js';
import { listBackups, pruneBackups, resolveBackup } from './files.js';
import { pgRunFailure, pgThrownFailure } from './pg-errors.js';
import { describePgUrl } from './pg-host.js';
import { countRowsSql, isCustomArchive, plainDumpComplete, restoreDbArg } from './pg-sql.js';
import type { Backupper, PgTool, RestoreResult } from './types.js';
import { writeBackup } from './write.js';

export interface BackupCtx {
  /** backup.dir is relative to it. */
  projectDir: string;
  redact: (s: string) => string;
}

const PING_TIMEOUT_MS = 5_000;
/** Each step gets at least this much, even when the overall timeout is nearly used up. */
const MIN_STEP_MS = 1_000;

type Program = 'pg_dump' | 'pg_restore' | 'psql';

export function postgresBackupper(cfg: PostgresBackupConfig, tool: PgTool, ctx: BackupCtx): Backupper {
  const dir = path.resolve(ctx.projectDir, cfg.dir);
  const target = cfg.url ? describePgUrl(cfg.url) : (cfg.database ?? 'its default database');
  const timeoutHint =
    `raise backup.timeout (now ${Math.round(cfg.timeout / 1000)} s)` +
    ` if the database is that big, or check why it is slow`;

  /** Runs one program; any failure becomes a `code` error that says what went wrong in plain words. */
  async function run(
    program: Program,
    args: string[],
    io: Parameters<PgTool['run']>[2],
    what: string,
    code: ErrorCode,
  ): Promise<string> {
    const fail = { what, code, redact: ctx.redact, where: tool.where(program) };
    let r: Awaited<ReturnType<PgTool['run']>>;
    try {
      // Never prompt for a password: there may be no one at the terminal, and a prompt would hang the deploy.
      r = await tool.run(program, ['--no-password', ...args], io);
    } catch (e) {
      throw pgThrownFailure(e, { ...fail, timeoutHint });
    }
    if (r.code !== 0) throw pgRunFailure(program, r, fail);
    return r.stdout;
  }

  const left = (deadline: number) => Math.max(MIN_STEP_MS, deadline - performance.now());

  return {
    describe: () => `postgres ${target} (${cfg.format} dumps with ${tool.where('pg_dump')})`,

    async backup({ reason, deployId, signal }) {
      const deadline = performance.now() + cfg.timeout;
      const failed = 'database backup failed';
      const formatArgs = cfg.format === 'custom' ? ['--format=custom'] : ['--format=plain', '--clean', '--if-exists'];
      return writeBackup({
        dir,
        ext: cfg.format === 'custom' ? 'dump' : 'sql',
        format: cfg.format,
        reason,
        deployId,
        signal,
        produce: async (out) => {
          // To stdout, not --file: pg_dump never creates the file itself, so it cannot leave one behind.
          await run(
            'pg_dump',
            [...formatArgs, '--no-owner'],
            { stdout: out, timeoutMs: left(deadline), signal },
            failed,
            'BACKUP_FAILED',
          );
        },
        verify: async (tmp) => {
          if (cfg.format === 'custom') {
            await run(
              'pg_restore',
              ['--list'],
              { stdin: createReadStream(tmp), timeoutMs: left(deadline), signal },
              `${failed}: the new dump does not read back (pg_restore --list)`,
              'BACKUP_FAILED',
            );
          } else if (!(await plainDumpComplete(tmp))) {
            throw new SwitchyardError(
              'BACKUP_FAILED',
              `${failed}: the dump does not end with "PostgreSQL database dump complete"`,
              { hint: 'pg_dump stopped early; see its messages and try again' },
            );
          }
        },
      });
    },

    list: () => listBackups(dir),

    prune: (protect) => pruneBackups(dir, cfg.keep, protect),

    async restore(file, opts = {}): Promise<RestoreResult> {
      const t0 = performance.now();
      const deadline = t0 + cfg.timeout;
      const { signal } = opts;
      const failed = 'restore failed';
      const meta = await resolveBackup(dir, file, { allowLatest: false });
      // The content decides, not the extension: a renamed or hand-copied dump restores the same.
      const custom = await isCustomArchive(meta.file);
      // psql takes the end of input as the end of COPY data: a cut plain dump would "succeed" with rows missing.
      if (!custom && !(await plainDumpComplete(meta.file))) {
        throw new SwitchyardError(
          'RESTORE_FAILED',
          `restore failed: ${meta.name} is not a complete plain dump` +
            ` (it does not end with "PostgreSQL database dump complete")`,
          {
            hint: 'pick another backup; a SQL script of your own can be run with psql directly',
          },
        );
      }
      const sql = (q: string, timeoutMs: number) =>
        run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', q], { timeoutMs, signal }, failed, 'RESTORE_FAILED');
      // Also proves the connection works before anything is fed in.
      const db = (await sql('SELECT current_database()', left(deadline))).trim();
      const stdin = createReadStream(meta.file);
      if (custom) {
        const args = [
          '--clean',
          '--if-exists',
          '--single-transaction',
          '--no-owner',
          '--exit-on-error',
          `--dbname=${restoreDbArg(db)}`,
        ];
        await run('pg_restore', args, { stdin, timeoutMs: left(deadline), signal }, failed, 'RESTORE_FAILED');
      } else {
        await run(
          'psql',
          ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', '-'],
          { stdin, timeoutMs: left(deadline), signal },
          failed,
          'RESTORE_FAILED',
        );
      }
      const counted = await sql(countRowsSql, left(deadline));
      const tables = JSON.parse(counted.trim() || '[]') as RestoreResult['tables'];
      return { tables, ms: Math.round(performance.now() - t0) };
    },

    async ping(opts = {}) {
      const out = await run(
        'psql',
        ['-X', '-At', '-c', 'SELECT 1'],
        { timeoutMs: opts.timeoutMs ?? PING_TIMEOUT_MS, signal: opts.signal },
        'database unreachable',
        'DATABASE_UNREACHABLE',
      );
      if (out.trim() !== '1') {
        throw new SwitchyardError(
          'DATABASE_UNREACHABLE',
          `database unreachable: SELECT 1 answered ${JSON.stringify(ctx.redact(out.trim().slice(0, 80)))}`,
          { hint: 'check that backup points at a PostgreSQL database' },
        );
      }
    },
  };
}
