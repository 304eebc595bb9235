/**
 * The `backup:` section of switchyard.yml and the migration hook of `deploy.hooks`. Part of the
 * config schema (schema.ts), kept apart because backups bring many options of their own.
 */
import * as z from 'zod';
import { command, duration } from './schema-prims.js';

const common = {
  /** Folder for the dumps, relative to the project folder. Created with mode 0700. */
  dir: z
    .string()
    .min(1)
    .default('backups')
    .meta({ description: 'folder for the dumps (relative to the project, mode 0700)' }),
  /** How many complete backups to keep (the one of the live deploy is kept besides). */
  keep: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(5)
    .meta({ description: 'complete backups kept (the one of the live deploy is kept besides)' }),
  timeout: duration.default(600_000).meta({ description: 'bound on one dump or restore', 'x-default': '10m' }),
};

const postgresBackupSchema = z
  .object({
    kind: z.literal('postgres').meta({
      description: '`postgres`, `command` or `none` (see [Backups and restore](backups.md))',
    }),
    /** postgres://user:password@host:port/db, dumped with this machine's pg_dump. */
    url: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          "postgres: `postgres://user:pass@host:port/db` for this machine's `pg_dump`; exactly one of `url` or " +
          '`container`',
      }),
    /** A shared service (docker runtime): pg_dump runs inside its container. */
    container: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'postgres: a shared service whose container runs `pg_dump` (docker runtime); exactly one of `url` or ' +
          '`container`',
      }),
    /** In the container: the role and database (default: its POSTGRES_USER / POSTGRES_DB, else postgres). */
    user: z.string().min(1).optional().meta({
      description: 'postgres in a container: the role',
      'x-default': "the container's POSTGRES_USER, else postgres",
    }),
    database: z.string().min(1).optional().meta({
      description: 'postgres in a container: the database',
      'x-default': "the container's POSTGRES_DB, else its POSTGRES_USER, else postgres",
    }),
    format: z
      .enum(['custom', 'plain'])
      .default('custom')
      .meta({
        description:
          'postgres: `custom` (`.dump`, compressed, verified with `pg_restore --list`) or `plain` ' +
          "(`.sql`, the guide's format)",
      }),
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
    kind: z.literal('command').meta({
      description: '`postgres`, `command` or `none` (see [Backups and restore](backups.md))',
    }),
    /** Writes the whole dump to stdout. */
    dump: command.meta({
      description: 'command: a command writing the dump to stdout (argument array, or a string split on whitespace)',
    }),
    /** Reads a dump on stdin and restores it; without it `restore` refuses. */
    restore: command.optional().meta({
      description: 'command: a command reading a dump on stdin and restoring it (without it `restore` refuses)',
    }),
    shell: z
      .boolean()
      .default(false)
      .meta({ description: 'command: run string commands (`dump`, `restore`) through `/bin/sh -c`' }),
    /** File name extension of the dumps. */
    extension: z
      .string()
      .regex(/^[a-z0-9]{1,10}$/, 'expected 1-10 characters of a-z and 0-9')
      .default('dump')
      .meta({ description: 'command: the file extension of the dumps' }),
    ...common,
  })
  .strict();

export const backupSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('none').meta({
        description: '`postgres`, `command` or `none` (see [Backups and restore](backups.md))',
      }),
    })
    .strict(),
  postgresBackupSchema,
  commandBackupSchema,
]);

export const migrateHookSchema = z
  .object({
    /** The migration command, run against the shared database once the target colour is healthy. */
    run: command.meta({
      description:
        'the migration command (argument array, or a string split on whitespace), run against the shared ' +
        'database after the health checks and before the switch',
    }),
    /** Run it inside this service of the target colour (its container or its release folder and env). */
    service: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'run it inside this service of the target colour (docker exec, a one-off task on swarm, or its ' +
          'release folder and env); without it, in the project folder',
      }),
    shell: z.boolean().default(false).meta({ description: 'run a string `run` through `/bin/sh -c`' }),
    timeout: duration.default(300_000).meta({ description: 'bound on the migration', 'x-default': '5m' }),
  })
  .strict();

export const hooksSchema = z
  .object({
    migrate: migrateHookSchema.optional().meta({
      description:
        '`{ run, service?, shell, timeout: 5m }`: the migration, run after the health checks and before the ' +
        'switch; inside `service` of the target colour when given (docker exec / a one-off swarm task / its ' +
        'release folder and env), else in the project folder',
    }),
  })
  .strict();

export type BackupConfig = z.output<typeof backupSchema>;
export type PostgresBackupConfig = z.output<typeof postgresBackupSchema>;
export type CommandBackupConfig = z.output<typeof commandBackupSchema>;
export type MigrateHook = z.output<typeof migrateHookSchema>;
