// A private PostgreSQL server for benchmarks, as test/helpers/postgres.ts makes one for tests (the
// benches run plain node and cannot import TypeScript): a fresh cluster in a temp folder on
// 127.0.0.1 at a free port, scram passwords; as root the server runs as the `postgres` user.
import { freePort } from './net.mjs';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;
const serverCmd = (bin, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args]);

export async function startPostgres({
  user = 'sy_bench',
  password = `pw-${process.pid}-${Date.now().toString(36)}`,
  db = 'app',
} = {}) {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-bench-pg-'));
  const data = path.join(root, 'data');
  const pwfile = path.join(root, 'pw');
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', root]);
  const port = await freePort();
  const pg = (bin, args) => {
    const [cmd, argv] = serverCmd(bin, args);
    return run(cmd, argv, { timeout: 60_000 });
  };
  await pg('initdb', [
    '-D',
    data,
    '-U',
    user,
    `--pwfile=${pwfile}`,
    '--auth=scram-sha-256',
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  // fsync stays on (unlike the tests): restore figures should include what a real server pays.
  await fs.appendFile(
    path.join(data, 'postgresql.conf'),
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\n` +
      `unix_socket_directories = '${root}'\nlog_min_messages = warning\n`,
  );
  await pg('pg_ctl', ['-D', data, '-l', path.join(root, 'server.log'), '-w', '-t', '60', 'start']);
  const env = {
    ...process.env,
    PGPASSWORD: password,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: user,
    PGCONNECT_TIMEOUT: '5',
  };
  const psql = async (sql, database = db) =>
    (
      await run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql], {
        env,
        timeout: 300_000,
        maxBuffer: 64 << 20,
      })
    ).stdout;
  await psql(`CREATE DATABASE ${db}`, 'postgres');
  return {
    port,
    url: (d = db) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${d}`,
    psql,
    cleanup: async () => {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * The benchmarks' generated database: a `customers` table of `rows` rows (id, email, name,
 * created_at, a ~100-byte note) with its primary key and an index on email, analysed. Returns the
 * database's size and the table's with its indexes (MB), after checking the row count.
 */
export async function fillCustomers(pg, rows, db) {
  const MB = 1024 * 1024;
  const r1 = (x) => Math.round(x * 10) / 10;
  await pg.psql(
    `CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL, name text NOT NULL, ` +
      `created_at timestamptz NOT NULL, note text NOT NULL);
    INSERT INTO customers (email, name, created_at, note)
      SELECT 'customer' || g || '@example.com', 'Customer Name ' || g, ` +
      `timestamptz '2023-01-01' + g * interval '37 seconds',
             left(repeat(md5(g::text) || ' ', 4), 100)
      FROM generate_series(1, ${rows}) g;
    CREATE INDEX customers_email ON customers (email);
    ANALYZE customers;`,
    db,
  );
  const [count, bytes, tableBytes] = (
    await pg.psql(
      `SELECT count(*), pg_database_size(current_database()), pg_total_relation_size('customers') FROM customers`,
      db,
    )
  )
    .trim()
    .split('|')
    .map(Number);
  if (count !== rows) throw new Error(`customers holds ${count} rows, expected ${rows}`);
  return { databaseMB: r1(bytes / MB), tableWithIndexesMB: r1(tableBytes / MB) };
}
