/**
 * The database backup as the commands use it: which Backupper the config asks for, the deploy's
 * backup step (I6: nothing changes before a complete backup is on disk), retention that never
 * deletes the dump a live or standby release was deployed over, and the warnings around it.
 */
import { hostPgTool, openBackupper, type PgTool } from '../backup/index.js';
import { containerPgTool } from '../backup/pg-container.js';
import type { BackupMeta, Backupper } from '../backup/types.js';
import { connect, sharedContainerName } from '../runtime/docker/index.js';
import { readState } from '../state/state.js';
import type { Engine } from './context.js';

const cache = new WeakMap<Engine, Backupper | undefined>();

/** The configured Backupper, or undefined for `backup.kind: none`. Built once per engine. */
export function backupFor(e: Engine): Backupper | undefined {
  if (cache.has(e)) return cache.get(e);
  const cfg = e.loaded.config;
  let docker: ReturnType<typeof connect> | undefined;
  const b = openBackupper(cfg.backup, {
    projectDir: e.paths.root,
    app: cfg.app,
    redact: e.redact,
    containerTool: (pg) =>
      e.runtime.sharedAddress
        ? tunnelPgTool(e, pg.container!, pg.user, pg.database)
        : containerPgTool({
            docker: () => (docker ??= connect()),
            container: sharedContainerName(cfg.app, pg.container!),
            user: pg.user,
            database: pg.database,
          }),
  });
  cache.set(e, b);
  return b;
}

/** PostgreSQL's port inside the shared service's container. */
export const SHARED_PG_PORT = 5432;

/**
 * backup.container where this machine cannot exec into the container (swarm): this machine's
 * client programs, through the runtime's loopback address of the service, as backup.user and
 * backup.database (default: the service's POSTGRES_USER and POSTGRES_DB, else postgres), with the
 * password of the service's POSTGRES_PASSWORD (never printed: it goes in the URL's environment).
 */
function tunnelPgTool(e: Engine, service: string, userOf?: string, databaseOf?: string): PgTool {
  // The defaults of the container's own tools (pg-container.ts), from the service's environment.
  const env = e.loaded.config.shared[service]?.environment ?? {};
  const password = env.POSTGRES_PASSWORD ?? '';
  const user = userOf ?? env.POSTGRES_USER ?? 'postgres';
  const database = databaseOf ?? env.POSTGRES_DB ?? env.POSTGRES_USER ?? 'postgres';
  return {
    where: (program) => `this machine's ${program} (through the swarm tunnel to ${service})`,
    run: async (program, args, io) => {
      const at = await e.runtime.sharedAddress!(service, SHARED_PG_PORT);
      const auth = `${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}`;
      const url = `postgres://${auth}@${at.host}:${at.port}/${encodeURIComponent(database)}`;
      return hostPgTool(url).run(program, args, io);
    },
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Health level 4, direct: SELECT 1 over the backup's connection, where the kind can do it. */
export function databasePing(e: Engine): (() => Promise<void>) | undefined {
  const b = backupFor(e);
  if (!b?.ping) return undefined;
  const timeoutMs = e.loaded.config.checks.requestTimeout;
  return () => b.ping!({ timeoutMs, signal: e.signal });
}

/** One line for a step or a listing: name, size, verification, time taken. */
export function describeBackup(b: BackupMeta): string {
  return (
    `${b.name} (${formatBytes(b.bytes)}, ${b.verified ? 'verified' : 'not verified'}` +
    `, ${(b.ms / 1000).toFixed(1)} s)`
  );
}

/** Backups recorded for either colour's release: the database each was deployed over. */
export async function protectedBackups(e: Engine): Promise<string[]> {
  const s = await readState(e.paths).catch(() => undefined);
  return [s?.colours.blue.backup, s?.colours.green.backup].filter((n): n is string => !!n);
}

/** Retention after a backup: keep the newest `keep`, and whatever a colour was deployed over. */
export async function pruneBackups(e: Engine, alsoKeep: string[] = []): Promise<void> {
  const b = backupFor(e);
  if (!b) return;
  try {
    const removed = await b.prune([...(await protectedBackups(e)), ...alsoKeep]);
    if (removed.length)
      e.reporter.info(
        `Removed ${removed.length} old backup${removed.length === 1 ? '' : 's'} (backup.keep: ${keepOf(e)})`,
      );
  } catch (err) {
    // Retention is housekeeping: a deploy that already switched is not failed by it.
    e.reporter.warn(`could not prune old backups: ${e.redact(err instanceof Error ? err.message : String(err))}`);
  }
}

function keepOf(e: Engine): number {
  const b = e.loaded.config.backup;
  return b.kind === 'none' ? 0 : b.keep;
}

/**
 * A migration is about to run without a backup from this deploy (skipped, or none configured):
 * say how old the newest backup is, so nobody learns it after a bad migration.
 */
export async function warnMigrationWithoutBackup(e: Engine, why: string): Promise<void> {
  const b = backupFor(e);
  const newest = b ? (await b.list().catch(() => []))[0] : undefined;
  const age = newest
    ? `the newest backup is ${newest.name}, taken ${newest.at} (before this deploy)`
    : 'there is no backup at all';
  e.reporter.warn(`a migration hook will change the database without a backup from this deploy (${why}); ${age}`);
}
