/**
 * Backupper for `backup.kind: command`: the user's dump command writes the dump to stdout, their
 * restore command reads it on stdin. Switchyard only knows that a dump is non-empty, so such
 * dumps are recorded and listed as not verified ("non-empty" only), and restores report no
 * table counts.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { CommandBackupConfig } from '../config/backup-schema.js';
import { errorMessage, isSwitchyardError, SwitchyardError, type ErrorCode } from '../errors.js';
import { argvOf } from '../util/run-command.js';
import { listBackups, pruneBackups, resolveBackup } from './files.js';
import { stderrTail } from './pg-errors.js';
import { signalOf, streamExec, type StreamExecOptions, type StreamExecResult } from './stream-exec.js';
import type { BackupCtx } from './postgres.js';
import type { Backupper } from './types.js';
import { writeBackup } from './write.js';

export function commandBackupper(cfg: CommandBackupConfig, ctx: BackupCtx): Backupper {
  const dir = path.resolve(ctx.projectDir, cfg.dir);
  const show = (argv: string[]) => ctx.redact(argv.join(' '));

  async function run(
    key: 'dump' | 'restore',
    argv: string[],
    io: Pick<StreamExecOptions, 'stdin' | 'stdout' | 'signal'>,
    what: string,
    code: ErrorCode,
  ): Promise<void> {
    const [file, ...args] = argv as [string, ...string[]];
    let r: StreamExecResult;
    try {
      r = await streamExec(file, args, {
        ...io,
        cwd: ctx.projectDir,
        env: process.env,
        timeoutMs: cfg.timeout,
        what: `backup.${key} (${show(argv)})`,
      });
    } catch (e) {
      if (isSwitchyardError(e) && e.code === 'ABORTED') throw e;
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      const why = missing ? `backup.${key} command not found: ${ctx.redact(file)}` : ctx.redact(errorMessage(e));
      const hint = missing
        ? `fix backup.${key} in switchyard.yml (it runs without a shell unless shell: true)`
        : isSwitchyardError(e) && e.code === 'TIMEOUT'
          ? `raise backup.timeout (now ${Math.round(cfg.timeout / 1000)} s), or see why the command is slow`
          : `see backup.${key} in switchyard.yml`;
      throw new SwitchyardError(code, `${what}: ${why}`, { hint, cause: e });
    }
    if (r.code !== 0) {
      const sig = signalOf(r.code);
      const how = sig ? `was killed by ${sig}` : `exited with code ${r.code}`;
      throw new SwitchyardError(code, `${what}: backup.${key} (${show(argv)}) ${how}`, {
        hint: `see its messages below, and backup.${key} in switchyard.yml`,
        details: stderrTail(r.stderr, ctx.redact),
      });
    }
  }

  return {
    describe: () => `dumps from \`${show(argvOf({ run: cfg.dump, shell: cfg.shell }))}\``,

    backup: ({ reason, deployId, signal }) =>
      writeBackup({
        dir,
        ext: cfg.extension,
        format: cfg.extension,
        reason,
        deployId,
        signal,
        produce: (out) =>
          run(
            'dump',
            argvOf({ run: cfg.dump, shell: cfg.shell }),
            { stdout: out, signal },
            'database backup failed',
            'BACKUP_FAILED',
          ),
        // No verify: non-empty is all that can be known of an unknown format. writeBackup checks
        // that and records the dump as not verified (check: non-empty), never as verified.
      }),

    list: () => listBackups(dir),

    prune: (protect) => pruneBackups(dir, cfg.keep, protect),

    async restore(file, opts = {}) {
      const t0 = performance.now();
      if (cfg.restore === undefined) {
        throw new SwitchyardError('RESTORE_FAILED', 'cannot restore: backup.restore is not configured', {
          hint:
            'add backup.restore to switchyard.yml: a command that reads a dump on its standard input' +
            ' (e.g. ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", "-"])',
        });
      }
      const meta = await resolveBackup(dir, file, { allowLatest: false });
      await run(
        'restore',
        argvOf({ run: cfg.restore, shell: cfg.shell }),
        { stdin: createReadStream(meta.file), signal: opts.signal },
        'restore failed',
        'RESTORE_FAILED',
      );
      return { tables: [], ms: Math.round(performance.now() - t0) };
    },
  };
}
