/**
 * The `backup:` section of switchyard.yml and the migration hook of `deploy.hooks`. Part of the
 * config schema (schema.ts), kept apart because backups bring many options of their own.
 */
import * as z from 'zod';
import { command, duration } from './schema-prims.js';

const common = {
  /** Folder for the dumps, relative to the project folder. Created with mode 0700. */
  dir: z.string().min(1).default('backups'),
  /** How many complete backups to keep (the one of the live deploy is kept besides). */
  keep: z.number().int().min(1).max(1000).default(5),
  timeout: duration.default(600_000),
};

const postgresBackupSchema = z
  .object({
    kind: z.literal('postgres'),
    /** postgres://user:password@host:port/db, dumped with this machine's pg_dump. */
    url: z.string().min(1).optional(),
    /** A shared service (docker runtime): pg_dump runs inside its container. */
    container: z.string().min(1).optional(),
    /** In the container: the role and database (default: its POSTGRES_USER / POSTGRES_DB, else postgres). */
    user: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    format: z.enum(['custom', 'plain']).default('custom'),
    ...common,
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.url === undefined) === (b.container === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of url (pg_dump on this machine) or container (pg_dump inside a shared service)',
      });
    }
    if (b.url !== undefined && !/^postgres(ql)?:\/\//.test(b.url)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected a postgres:// or postgresql:// URL' });
    }
    if (b.url === undefined && (b.user !== undefined || b.database !== undefined) && b.container === undefined) {
      ctx.addIssue({ code: 'custom', message: 'user and database go with container' });
    }
  });

const commandBackupSchema = z
  .object({
    kind: z.literal('command'),
    /** Writes the whole dump to stdout. */
    dump: command,
    /** Reads a dump on stdin and restores it; without it `restore` refuses. */
    restore: command.optional(),
    shell: z.boolean().default(false),
    /** File name extension of the dumps. */
    extension: z
      .string()
      .regex(/^[a-z0-9]{1,10}$/, 'expected 1-10 characters of a-z and 0-9')
      .default('dump'),
    ...common,
  })
  .strict();

export const backupSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }).strict(),
  postgresBackupSchema,
  commandBackupSchema,
]);

export const migrateHookSchema = z
  .object({
    /** The migration command, run against the shared database once the target colour is healthy. */
    run: command,
    /** Run it inside this service of the target colour (its container or its release folder and env). */
    service: z.string().min(1).optional(),
    shell: z.boolean().default(false),
    timeout: duration.default(300_000),
  })
  .strict();

export const hooksSchema = z.object({ migrate: migrateHookSchema.optional() }).strict();

export type BackupConfig = z.output<typeof backupSchema>;
export type PostgresBackupConfig = z.output<typeof postgresBackupSchema>;
export type CommandBackupConfig = z.output<typeof commandBackupSchema>;
export type MigrateHook = z.output<typeof migrateHookSchema>;
