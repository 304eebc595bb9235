// The API's PostgreSQL store (the guide's shared database): the same async interface as
// store-json.mjs, on three tables created at start (CREATE TABLE IF NOT EXISTS, so blue and green
// can both run it). The driver is the `pg` package bundled into ./vendor/pg.cjs by
// scripts/bundle-example.mjs (`npm run build`), so the API needs no npm install.
//
// A database that is down at start does not stop the API: /api/health then reports
// `database: disconnected` (so switchyard's health gate fails with a clear reason), and every
// request tries again (schema creation included) until the database answers.
// Only parameterised queries; the password in DATABASE_URL is never logged.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// Any constant: serialises schema creation between colours that start at the same moment
// (concurrent CREATE TABLE IF NOT EXISTS of one table can fail on PostgreSQL's catalog).
const SCHEMA_LOCK = 7_240_513_901;
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (
     email text PRIMARY KEY,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE IF NOT EXISTS login_codes (
     email text PRIMARY KEY,
     code text NOT NULL,
     expires_at timestamptz NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS tokens (
     token text PRIMARY KEY,
     email text NOT NULL REFERENCES users (email) ON DELETE CASCADE,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
];

/** "host:port/database" of a connection URL: what may be logged (never the user or password). */
export function describeUrl(url) {
  try {
    const u = new URL(url);
    return (
      `${decodeURIComponent(u.hostname) || 'localhost'}:${u.port || 5432}/` +
      `${decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)'}`
    );
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

function loadDriver() {
  try {
    return require('./vendor/pg.cjs');
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    throw new Error(
      'vendor/pg.cjs is missing: run `npm run build` in the switchyard repository ' +
        '(scripts/bundle-example.mjs bundles the PostgreSQL driver)',
    );
  }
}

const toUser = (row) => ({ email: row.email, createdAt: row.created_at.toISOString() });

/** @param {string} url a postgres:// URL (DATABASE_URL) */
export function createPostgresStore(url) {
  try {
    new URL(url);
  } catch {
    // Not the URL itself in the message: it holds the password.
    throw new Error('DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/database)');
  }
  const where = describeUrl(url);
  const { Pool } = loadDriver();
  const pool = new Pool({
    connectionString: url,
    max: 5,
    idleTimeoutMillis: 10_000,
    // Bounded, so /api/health answers "disconnected" quickly instead of hanging on a dead host.
    connectionTimeoutMillis: 3_000,
    query_timeout: 10_000,
    application_name: 'switchyard-example-api',
  });
  // A pooled idle connection that breaks (database restarted) is dropped; the next request reconnects.
  pool.on('error', (e) => console.error(`api: idle database connection to ${where} lost: ${e.message}`));

  /** Runs fn(client) in one transaction on one pooled connection. */
  async function tx(fn) {
    const client = await pool.connect();
    let broken;
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      broken = await client.query('ROLLBACK').then(
        () => undefined,
        (re) => re,
      );
      throw e;
    } finally {
      // A connection whose ROLLBACK failed is not trusted again: release(err) closes it.
      client.release(broken);
    }
  }

  let schema;
  /** Creates the tables once; a failure (database down) is retried by the next caller. */
  function ready() {
    schema ??= tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      for (const sql of SCHEMA) await c.query(sql);
    }).catch((e) => {
      schema = undefined;
      throw e;
    });
    return schema;
  }

  let lastStatus;
  const note = (status, e) => {
    if (status === lastStatus) return;
    lastStatus = status;
    if (status === 'connected') console.log(`api: database ${where} connected`);
    else
      console.error(
        `api: database ${where} not reachable (${e?.message ?? 'unknown error'}); retrying on every request`,
      );
  };

  return {
    kind: 'postgres',
    describe: () => `postgres ${where}`,
    /** The migration (migrate.mjs, switchyard's deploy.hooks.migrate): creates the tables or throws. */
    migrate: () => ready(),
    /** Creates the tables; a database that is down is only logged (the API starts anyway). */
    init: async () => {
      try {
        await ready();
        note('connected');
      } catch (e) {
        note('disconnected', e);
      }
    },
    /** 'connected' when the tables exist and `SELECT 1` answers. */
    status: async () => {
      try {
        await ready();
        await pool.query('SELECT 1');
        note('connected');
        return 'connected';
      } catch (e) {
        note('disconnected', e);
        return 'disconnected';
      }
    },
    saveCode: async (email, code, expiresAt) => {
      await ready();
      await pool.query(
        `INSERT INTO login_codes (email, code, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO UPDATE SET code = EXCLUDED.code, expires_at = EXCLUDED.expires_at`,
        [email, code, new Date(expiresAt)],
      );
    },
    verify: async (email, code, token) => {
      await ready();
      return tx(async (c) => {
        const now = new Date();
        // Only a matching, unexpired code is consumed; a wrong guess leaves it in place (as the JSON store).
        const used = await c.query(
          'DELETE FROM login_codes WHERE email = $1 AND code = $2 AND expires_at >= $3 RETURNING email',
          [email, code, now],
        );
        if (used.rowCount === 0) return undefined;
        await c.query('INSERT INTO users (email, created_at) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING', [
          email,
          now,
        ]);
        const { rows } = await c.query('SELECT email, created_at FROM users WHERE email = $1', [email]);
        await c.query('INSERT INTO tokens (token, email, created_at) VALUES ($1, $2, $3)', [token, email, now]);
        return toUser(rows[0]);
      });
    },
    session: async (token) => {
      await ready();
      const { rows } = await pool.query(
        'SELECT u.email, u.created_at FROM tokens t JOIN users u ON u.email = t.email WHERE t.token = $1',
        [token],
      );
      return rows.length ? { user: toUser(rows[0]) } : undefined;
    },
    close: () => pool.end(),
  };
}
