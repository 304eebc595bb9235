/**
 * A private PostgreSQL server for tests: Debian's binaries (scripts/setup-infra.sh puts initdb and
 * pg_ctl on PATH), a fresh cluster in a temp folder, listening on 127.0.0.1 at a free port with
 * password (scram) authentication. PostgreSQL refuses to run as root, so as root the server runs
 * as the `postgres` user (runuser); tools that talk to it run as us. Missing binaries fail loudly.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './project.ts';

const run = promisify(execFile);

export interface TestPostgres {
  port: number;
  user: string;
  password: string;
  /** postgres://user:password@127.0.0.1:port/<db> */
  url(db?: string): string;
  /** Runs SQL with psql (-At: unaligned, tuples only) and returns its output. */
  psql(sql: string, db?: string): Promise<string>;
  /** pg_dump --format=plain of a database: the text tests compare. */
  dumpText(db?: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and deletes its folder. */
  cleanup(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;
/** argv to run a server-side binary as the postgres user when we are root. */
const serverCmd = (bin: string, args: string[]): [string, string[]] =>
  asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];

export async function startTestPostgres(
  opts: { user?: string; password?: string; db?: string } = {},
): Promise<TestPostgres> {
  const user = opts.user ?? 'sy_test';
  const password = opts.password ?? `pw-${process.pid}-${Date.now().toString(36)}`;
  const db = opts.db ?? 'app';
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-pg-'));
  const data = path.join(root, 'data');
  const pwfile = path.join(root, 'pw');
  await fs.writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', root]);
  const port = await freePort();
  const pg = async (bin: string, args: string[]) => {
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
  await fs.appendFile(
    data + '/postgresql.conf',
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${root}'\n` +
      'fsync = off\nlog_min_messages = warning\n',
  );
  const env = {
    ...process.env,
    PGPASSWORD: password,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: user,
    PGCONNECT_TIMEOUT: '5',
  };
  const start = async () => {
    await pg('pg_ctl', ['-D', data, '-l', path.join(root, 'server.log'), '-w', '-t', '60', 'start']);
  };
  const stop = async () => {
    await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };
  await start();
  const psql = async (sql: string, database = db) =>
    (
      await run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql], {
        env,
        timeout: 60_000,
        maxBuffer: 64 << 20,
      })
    ).stdout;
  await psql(`CREATE DATABASE ${db}`, 'postgres');
  return {
    port,
    user,
    password,
    url: (d = db) => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${d}`,
    psql,
    dumpText: async (d = db) =>
      (await run('pg_dump', ['--format=plain', '--no-owner', '-d', d], { env, timeout: 60_000, maxBuffer: 256 << 20 }))
        .stdout,
    stop,
    start,
    cleanup: async () => {
      await stop();
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
