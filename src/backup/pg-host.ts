/**
 * PgTool for `backup.url`: this machine's pg_dump / pg_restore / psql, with the connection in the
 * child's environment (PGHOST, PGPASSWORD, ...) so that neither the URL nor the password ever
 * appears in argv, where any user could read it in /proc (I8).
 */
import { SwitchyardError } from '../errors.js';
import { streamExec } from './stream-exec.js';
import type { PgTool } from './types.js';

export interface PgUrl {
  host?: string;
  port?: string;
  user?: string;
  database?: string;
  /** PG* variables for the child; holds the password, never print it. */
  env: Record<string, string>;
}

/** URL query parameters libpq understands, and the variable each becomes. */
const PARAM_ENV: Record<string, string> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  dbname: 'PGDATABASE',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  sslcompression: 'PGSSLCOMPRESSION',
  requiressl: 'PGREQUIRESSL',
  channel_binding: 'PGCHANNELBINDING',
  gssencmode: 'PGGSSENCMODE',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  client_encoding: 'PGCLIENTENCODING',
  service: 'PGSERVICE',
};

const DEFAULT_CONNECT_TIMEOUT_S = 10;

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new SwitchyardError('CONFIG_INVALID', 'backup.url has a malformed %-escape', {
      hint: 'write % itself as %25 in the user, password or database name',
    });
  }
}

export function parsePgUrl(url: string): PgUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The message must not echo the URL: it holds the password.
    throw new SwitchyardError('CONFIG_INVALID', 'backup.url is not a valid URL', {
      hint:
        'expected postgres://user:password@host:5432/database' +
        ' (percent-encode @ : / in the password as %40 %3A %2F)',
    });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new SwitchyardError('CONFIG_INVALID', 'backup.url must start with postgres:// or postgresql://', {
      hint: 'expected postgres://user:password@host:5432/database',
    });
  }
  const env: Record<string, string> = {};
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host) env.PGHOST = decode(host);
  if (u.port) env.PGPORT = u.port;
  if (u.username) env.PGUSER = decode(u.username);
  if (u.password) env.PGPASSWORD = decode(u.password);
  const db = decode(u.pathname.replace(/^\//, ''));
  if (db) env.PGDATABASE = db;
  for (const [key, value] of u.searchParams) {
    const name = PARAM_ENV[key];
    if (!name) {
      throw new SwitchyardError('CONFIG_INVALID', `backup.url has a parameter libpq does not know: ${key}`, {
        hint: `remove it, or use one of: ${Object.keys(PARAM_ENV).join(', ')}`,
      });
    }
    env[name] = value;
  }
  env.PGAPPNAME ??= 'switchyard';
  env.PGCONNECT_TIMEOUT ??= String(DEFAULT_CONNECT_TIMEOUT_S);
  return { host: env.PGHOST, port: env.PGPORT, user: env.PGUSER, database: env.PGDATABASE, env };
}

/** "app at db.internal:5432" — for describe() and messages; no user, no password. */
export function describePgUrl(url: string): string {
  const p = parsePgUrl(url);
  const where = p.host?.startsWith('/') ? `socket ${p.host}` : `${p.host ?? 'localhost'}:${p.port ?? '5432'}`;
  return `${p.database ?? p.user ?? 'the default database'} at ${where}`;
}

/**
 * The environment of the client programs: ours minus every PG* setting, so that only the URL decides where they
 * connect.
 */
function childEnv(conn: Record<string, string>, pathEnv: string | undefined, timeoutMs: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // PGPASSFILE stays: ~/.pgpass is the way to keep the password out of switchyard.yml.
    if (!k.startsWith('PG') || k === 'PGPASSFILE') env[k] = v;
  }
  if (pathEnv !== undefined) env.PATH = pathEnv;
  Object.assign(env, conn);
  // A short run (ping) must not wait 10 s for a connection.
  const runS = Math.max(2, Math.ceil(timeoutMs / 1000));
  if (Number(env.PGCONNECT_TIMEOUT) > runS) env.PGCONNECT_TIMEOUT = String(runS);
  return env;
}

/** `pathEnv` replaces PATH for finding and running the programs (tests use it to hide pg_dump). */
export function hostPgTool(url: string, opts: { pathEnv?: string } = {}): PgTool {
  const conn = parsePgUrl(url).env;
  return {
    where: (program) => `this machine's ${program}`,
    run: async (program, args, io) => {
      try {
        return await streamExec(program, args, {
          ...io,
          env: childEnv(conn, opts.pathEnv, io.timeoutMs),
          what: program,
        });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new SwitchyardError(
            'COMMAND_FAILED',
            `${program} is not installed on this machine (not found on PATH)`,
            {
              hint:
                `install the PostgreSQL client programs (Debian/Ubuntu: apt-get install postgresql-client` +
                `, matching the server's major version)` +
                `, or set backup.container to run ${program} inside the database's container`,
              cause: e,
            },
          );
        }
        throw e;
      }
    },
  };
}
