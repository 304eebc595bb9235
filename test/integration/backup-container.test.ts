/**
 * containerPgTool against a real database container: the example's postgres image built on the
 * local base image and started as the shared service `db` of a unique test app (container
 * `<app>-db` on `<app>-net`), with scram password auth. Proves: a custom dump streamed to a file
 * and read back with `pg_restore --list` on stdin; SQL fed to psql on stdin (EOF delivered); the
 * defaults taken from the container's POSTGRES_* env; a wrong password refused over TCP; the
 * password absent from every exec's Cmd as the engine reports it; clear errors for a missing or
 * stopped container, a program missing from the image and an unreachable engine; abort and
 * timeout returning promptly with the program gone from the container (and its query cancelled);
 * and a backup -> change -> restore round trip through postgresBackupper, in the custom and the
 * plain format. Everything is removed
 * in `after`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable, Writable, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { backupSchema, type PostgresBackupConfig } from '../../src/config/backup-schema.js';
import { isSwitchyardError, type SwitchyardError } from '../../src/errors.js';
import { containerPgTool } from '../../src/backup/pg-container.js';
import { postgresBackupper } from '../../src/backup/postgres.js';
import { createClient, withTimeout } from '../../src/runtime/docker/client.js';
import { demux } from '../../src/runtime/docker/logs.js';
import { LABEL } from '../../src/runtime/docker/names.js';
import {
  BASE_IMAGE,
  cleanupApp,
  dockerClient,
  dockerProject,
  exampleBuild,
  uniqueApp,
  waitFor,
} from '../helpers/docker.js';
import { budget } from '../helpers/budget.js';

const APP = uniqueApp('sybk');
const DB = `${APP}-db`;
const USER = 'ala';
const DATABASE = 'ala_production';
const PASSWORD = `pw-${randomBytes(9).toString('hex')}`;
const T = 30_000;

let docker: Docker;
const dirs: string[] = [];

before(async () => {
  docker = await dockerClient();
}, budget(100));
after(async () => {
  if (docker) await cleanupApp(docker, APP);
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
}, budget(5_000));

async function rejects(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSwitchyardError(e), `expected a SwitchyardError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

/** A test-side exec (fixed scripts only), output demultiplexed, bounded. */
async function sh(container: string, script: string, ms = 15_000): Promise<string> {
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await withTimeout(
    new Promise<void>(
      (resolve, reject) => (stream.on('end', resolve), stream.on('close', resolve), stream.on('error', reject)),
    ),
    ms,
    `sh in ${container}`,
  ).finally(() => stream.destroy());
  return demux(Buffer.concat(chunks));
}

/** Command lines of the processes in a container (NUL -> space), one a line. */
const processes = (container: string) =>
  sh(container, 'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " <"$f" 2>/dev/null; echo; done');

/** A client that records every exec the tool creates, for inspecting them through the engine. */
function recording(d: Docker, seen: Docker.Exec[]): Docker {
  return new Proxy(d, {
    get(target, prop, receiver) {
      if (prop !== 'getContainer') return Reflect.get(target, prop, receiver) as unknown;
      return (id: string) => {
        const c = target.getContainer(id);
        const exec = c.exec.bind(c) as (o: Docker.ExecCreateOptions) => Promise<Docker.Exec>;
        return Object.assign(c, {
          exec: async (o: Docker.ExecCreateOptions) => {
            const e = await exec(o);
            seen.push(e);
            return e;
          },
        });
      };
    },
  });
}

const sqlStream = (text: string) => Readable.from([Buffer.from(text)]);
/** pg_dump --format=plain, without the random \restrict key newer pg_dump versions write. */
const plain = (text: string) => text.replace(/^\\(un)?restrict .*$/gm, '');

describe('containerPgTool: PostgreSQL client programs inside the database container', () => {
  const tool = containerPgTool({ docker: async () => docker, container: DB });
  const psql = async (sql: string) => {
    const r = await tool.run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { timeoutMs: T });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  before(async () => {
    const project = await dockerProject({
      app: APP,
      services: { api: { build: exampleBuild.api, port: 5000, health: { path: '/api/health' } } },
      shared: {
        db: {
          build: exampleBuild.postgres,
          environment: { POSTGRES_USER: USER, POSTGRES_DB: DATABASE, POSTGRES_PASSWORD: PASSWORD },
          volumes: ['pgdata:/var/lib/postgresql/data'],
          stopTimeout: '5s',
        },
      },
    });
    dirs.push(project.dir);
    const lines = await project.rt.startShared!();
    assert.match(lines[0] ?? '', /^db: created, healthy/);
    assert.equal((await docker.getContainer(DB).inspect()).State.Running, true);
  }, budget(3_700));

  it(
    'runs as the container POSTGRES_USER / POSTGRES_DB over TCP on 127.0.0.1; where() names the container',
    budget(400),
    async () => {
      assert.equal(tool.where('pg_dump'), `pg_dump in container ${DB}`);
      // inet_client_addr() is NULL over a Unix socket: this is TCP, so scram auth really ran.
      assert.equal(
        await psql('select current_user, current_database(), inet_client_addr()'),
        `${USER}|${DATABASE}|127.0.0.1`,
      );
      // Multi-byte text across many output frames (odd offsets, so frame borders split characters).
      assert.equal(await psql("select 'x' || repeat('é', 100000)"), `x${'é'.repeat(100_000)}`);
      const other = containerPgTool({ docker: async () => docker, container: DB, database: 'postgres' });
      const r = await other.run('psql', ['-X', '-At', '-c', 'select current_user, current_database()'], {
        timeoutMs: T,
      });
      assert.deepEqual([r.code, r.stdout.trim()], [0, `${USER}|postgres`]);
    },
  );

  it('psql -f - runs SQL fed on stdin (stdin ends, so psql sees EOF)', budget(400), async () => {
    const sql = [
      'create table items (id int primary key, name text not null);',
      "insert into items select i, 'item ' || i from generate_series(1, 500) i;",
      "select 'fed-by-stdin', count(*) from items;",
    ].join('\n');
    const r = await tool.run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
      stdin: sqlStream(sql),
      timeoutMs: T,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^fed-by-stdin\|500$/m);
    assert.equal(await psql('select count(*) from items'), '500');
    // A failing statement: exit code 3 from psql (ON_ERROR_STOP), the server's message in stderr.
    const bad = await tool.run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
      stdin: sqlStream('select * from no_such_table;'),
      timeoutMs: T,
    });
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /relation "no_such_table" does not exist/);
  });

  it('pg_dump --format=custom streams to a file that pg_restore --list reads back on stdin', budget(600), async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-bk-'));
    dirs.push(dir);
    const file = path.join(dir, 'db.dump');
    const r = await tool.run('pg_dump', ['--format=custom', '--no-owner'], {
      stdout: createWriteStream(file),
      timeoutMs: T,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'stdout went to the file, not into the result');
    const bytes = await fs.readFile(file);
    assert.equal(bytes.subarray(0, 5).toString('latin1'), 'PGDMP');
    // No stray docker frame headers in the file: the size matches what pg_dump writes itself.
    const direct = await tool.run('pg_dump', ['--format=custom', '--no-owner', '--file=/tmp/direct.dump'], {
      timeoutMs: T,
    });
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal((await sh(DB, 'wc -c </tmp/direct.dump; rm -f /tmp/direct.dump')).trim(), String(bytes.length));
    const list = await tool.run('pg_restore', ['--list'], { stdin: createReadStream(file), timeoutMs: T });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /Format: CUSTOM/);
    assert.match(list.stdout, new RegExp(`dbname: ${DATABASE}`));
    assert.match(list.stdout, /TABLE DATA public items/);
    // Garbage on stdin is refused by pg_restore itself (the stream really reaches it).
    const junk = await tool.run('pg_restore', ['--list'], { stdin: sqlStream('not a dump at all\n'), timeoutMs: T });
    assert.notEqual(junk.code, 0);
    assert.match(junk.stderr, /input file does not appear to be a valid archive|did not find magic string/);
  });

  it(
    'a wrong password is refused by the server; the password is in no exec Cmd the engine reports',
    budget(200),
    async () => {
      const wrong = containerPgTool({ docker: async () => docker, container: DB, password: 'definitely-not-it' });
      const r = await wrong.run('psql', ['-X', '--no-password', '-At', '-c', 'select 1'], { timeoutMs: T });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /password authentication failed for user "ala"/);
      assert.ok(!r.stderr.includes('definitely-not-it'));

      const seen: Docker.Exec[] = [];
      const spied = containerPgTool({ docker: async () => recording(docker, seen), container: DB });
      const ok = await spied.run('psql', ['-X', '--no-password', '-At', '-c', "select 'cmd-probe'"], { timeoutMs: T });
      assert.deepEqual(
        [ok.code, ok.stdout.trim()],
        [0, 'cmd-probe'],
        'the password got there (through the environment)',
      );
      const execs = await Promise.all(seen.map((e) => docker.getExec(e.id).inspect()));
      const mine = execs.find(
        (x) => x.ProcessConfig.entrypoint === 'psql' && x.ProcessConfig.arguments.includes("select 'cmd-probe'"),
      );
      assert.ok(mine, `the engine reports the psql exec: ${JSON.stringify(execs.map((x) => x.ProcessConfig))}`);
      for (const x of execs)
        assert.ok(!JSON.stringify(x).includes(PASSWORD), 'no password in what the engine reports about the exec');
    },
  );

  it('the password may come from the file POSTGRES_PASSWORD_FILE names (docker secrets)', budget(3_600), async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-bk-secret-'));
    dirs.push(dir);
    const secret = `file-pw-${randomBytes(6).toString('hex')}`;
    await fs.writeFile(path.join(dir, 'pw'), `${secret}\n`, { mode: 0o644 });
    const name = `${APP}-dbfile`;
    const image = (await docker.getContainer(DB).inspect()).Config.Image;
    const c = await docker.createContainer({
      name,
      Image: image,
      Env: ['POSTGRES_USER=filer', 'POSTGRES_PASSWORD_FILE=/run/secrets/pw'],
      Labels: { [LABEL.app]: APP },
      HostConfig: { Binds: [`${path.join(dir, 'pw')}:/run/secrets/pw:ro`] },
    });
    await c.start();
    await waitFor(
      'healthy',
      async () => ((await c.inspect()).State.Health?.Status === 'healthy' ? true : undefined),
      60_000,
    );
    const t = containerPgTool({ docker: async () => docker, container: name });
    const r = await t.run(
      'psql',
      ['-X', '--no-password', '-At', '-c', 'select current_user, current_database(), inet_client_addr()'],
      { timeoutMs: T },
    );
    assert.deepEqual([r.code, r.stdout.trim()], [0, 'filer|filer|127.0.0.1'], r.stderr);
    // opts.password wins over the container's: a wrong one is refused.
    const wrong = await containerPgTool({ docker: async () => docker, container: name, password: 'nope' }).run(
      'psql',
      ['-X', '--no-password', '-c', 'select 1'],
      { timeoutMs: T },
    );
    assert.match(wrong.stderr, /password authentication failed for user "filer"/);
    await c.remove({ force: true });
  });

  it('a missing container and a stopped container give clear BACKUP_FAILED errors', budget(400), async () => {
    const missing = await rejects(
      containerPgTool({ docker: async () => docker, container: `${APP}-nope` }).run('pg_dump', [], { timeoutMs: T }),
    );
    assert.equal(missing.code, 'BACKUP_FAILED');
    assert.equal(missing.message, `no container ${APP}-nope: is the shared database started?`);
    assert.match(missing.hint ?? '', /switchyard init/);

    const image = (await docker.getContainer(DB).inspect()).Config.Image;
    const stopped = await docker.createContainer({
      name: `${APP}-stopped`,
      Image: image,
      Entrypoint: ['true'],
      Cmd: [],
      Labels: { [LABEL.app]: APP },
    });
    await stopped.start();
    await waitFor(
      'exited',
      async () => ((await stopped.inspect()).State.Status === 'exited' ? true : undefined),
      20_000,
    );
    const err = await rejects(
      containerPgTool({ docker: async () => docker, container: `${APP}-stopped` }).run('pg_dump', [], { timeoutMs: T }),
    );
    assert.equal(err.code, 'BACKUP_FAILED');
    assert.equal(err.message, `container ${APP}-stopped is not running (exited with code 0)`);
    assert.match(err.hint ?? '', /switchyard init|docker start/);
  });

  it('a program missing from the image: "pg_dump is not installed in container ..."', budget(600), async () => {
    const name = `${APP}-noclient`;
    const c = await docker.createContainer({
      name,
      Image: BASE_IMAGE,
      Entrypoint: ['sleep'],
      Cmd: ['300'],
      Labels: { [LABEL.app]: APP },
    });
    await c.start();
    await sh(name, 'rm -f "$(command -v pg_dump)"');
    const t = containerPgTool({ docker: async () => docker, container: name });
    const err = await rejects(t.run('pg_dump', ['--format=custom'], { timeoutMs: T }));
    assert.equal(err.code, 'BACKUP_FAILED');
    assert.equal(err.message, `pg_dump is not installed in container ${name}`);
    assert.match(err.hint ?? '', /PostgreSQL client programs|backup\.url/);
    // psql is still there: it runs (and fails to connect: no server in this container).
    const r = await t.run('psql', ['-X', '--no-password', '-c', 'select 1'], { timeoutMs: T });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /connection to server at "127\.0\.0\.1"/);
    await c.remove({ force: true });
  });

  it('an unreachable engine: DOCKER_UNREACHABLE naming the socket', budget(100), async () => {
    const t = containerPgTool({
      docker: () => createClient({ DOCKER_HOST: 'unix:///nonexistent/docker.sock' }),
      container: DB,
    });
    const err = await rejects(t.run('psql', ['-c', 'select 1'], { timeoutMs: 10_000 }));
    assert.equal(err.code, 'DOCKER_UNREACHABLE');
    assert.match(err.message, /unix:\/\/\/nonexistent\/docker\.sock/);
  });

  /** Starts a long psql, waits until the server runs its query, stops it, and checks it is gone. */
  async function stopLong(
    probe: string,
    io: { timeoutMs: number; signal?: AbortSignal },
    afterRunning: () => void,
  ): Promise<{ err: SwitchyardError; ms: number }> {
    const sql = `select pg_sleep(30) as ${probe}`;
    let stopAt = 0;
    const running = tool.run('psql', ['-X', '-c', sql], io);
    running.catch(() => undefined);
    await waitFor(
      'the query running',
      async () =>
        (await psql(
          `select count(*) from pg_stat_activity where query like '%${probe}%' and pid <> pg_backend_pid()`,
        )) === '1'
          ? true
          : undefined,
      15_000,
      100,
    );
    // Positive control: the check below does see psql while it runs.
    assert.ok((await processes(DB)).includes(probe), 'psql is visible in the container while it runs');
    stopAt = Date.now();
    afterRunning();
    const err = await rejects(running);
    const ms = Date.now() - stopAt;
    assert.ok(!(await processes(DB)).includes(probe), 'psql is gone from the container');
    // SIGINT made psql send a cancel request: the server stopped the query too.
    await waitFor(
      'the query cancelled',
      async () =>
        (await psql(
          `select count(*) from pg_stat_activity where query like '%${probe}%' and pid <> pg_backend_pid()`,
        )) === '0'
          ? true
          : undefined,
      5_000,
      100,
    );
    return { err, ms };
  }

  it(
    'an AbortSignal during a long psql returns promptly and the program is gone from the container',
    budget(700),
    async () => {
      const ac = new AbortController();
      const { err, ms } = await stopLong('abort_probe', { timeoutMs: 60_000, signal: ac.signal }, () => ac.abort());
      assert.equal(err.code, 'ABORTED');
      assert.match(err.message, new RegExp(`psql in container ${DB} interrupted`));
      assert.ok(ms < 5_000, `returned ${ms} ms after the abort`);
      // Already aborted: nothing is started.
      const pre = await rejects(tool.run('psql', ['-c', 'select 1'], { timeoutMs: T, signal: ac.signal }));
      assert.equal(pre.code, 'ABORTED');
    },
  );

  it('the timeout stops a long psql the same way', budget(4_500), async () => {
    const t0 = Date.now();
    const { err } = await stopLong('timeout_probe', { timeoutMs: 4_000 }, () => undefined);
    assert.equal(err.code, 'TIMEOUT');
    assert.match(err.message, /did not finish within 4 s/);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
  });

  it('a failing output stream stops pg_dump and rejects with its error', budget(1_600), async () => {
    await psql(
      'create table filler as select i, md5(i::text) || md5((i + 1)::text) as s from generate_series(1, 200000) i',
    );
    let got = 0;
    const broken = new Writable({
      write(chunk: Buffer, _enc, done) {
        got += chunk.length;
        done(got > 64 * 1024 ? new Error('disk full (test)') : null);
      },
    });
    await assert.rejects(
      tool.run('pg_dump', ['--format=plain'], { stdout: broken, timeoutMs: T }),
      /disk full \(test\)/,
    );
    assert.ok(!(await processes(DB)).includes('pg_dump'), 'pg_dump is gone from the container');
    await psql('drop table filler');
  });

  // Both formats: custom (pg_restore --clean --if-exists --single-transaction) and plain (psql
  // --single-transaction over a dump taken with --clean --if-exists), each judged byte for byte
  // on pg_dump's plain output before the change and after the restore.
  for (const format of ['custom', 'plain'] as const) {
    it(
      `postgresBackupper over containerPgTool (format ${format}): ` +
        'backup -> change -> restore gives back the same database',
      budget(1_900),
      async () => {
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), `sy-bk-rt-${format}-`));
        dirs.push(dir);
        await psql(
          'drop table if exists notes; create table notes (id serial primary key, body text); ' +
            "insert into notes (body) values ('first'), ('second')",
        );
        assert.equal(await psql('select count(*) from items'), '500', 'items as the earlier tests left it');
        const cfg: PostgresBackupConfig = backupSchema.parse({
          kind: 'postgres',
          container: DB,
          dir: path.join(dir, 'backups'),
          format,
          timeout: '120s',
        }) as PostgresBackupConfig;
        const redact = (s: string) => s.split(PASSWORD).join('***');
        const b = postgresBackupper(cfg, tool, { projectDir: dir, redact });
        const dumpText = async () => {
          const r = await tool.run('pg_dump', ['--format=plain', '--no-owner'], { timeoutMs: T });
          assert.equal(r.code, 0, r.stderr);
          return plain(r.stdout);
        };
        const before = await dumpText();
        assert.match(before, /CREATE TABLE public\.notes/);

        const meta = await b.backup({ reason: 'manual' });
        assert.equal(meta.verified, true);
        assert.equal(meta.format, format);
        assert.match(meta.name, format === 'custom' ? /\.dump$/ : /\.sql$/);
        const head = (await fs.readFile(meta.file)).subarray(0, 64).toString('latin1');
        if (format === 'custom') assert.ok(head.startsWith('PGDMP'), `a custom archive: ${JSON.stringify(head)}`);
        else assert.match(head, /^--\n-- PostgreSQL database dump/, 'a plain SQL dump');
        assert.equal((await fs.stat(meta.file)).mode & 0o777, 0o600);
        assert.deepEqual(
          (await b.list()).map((m) => m.name),
          [meta.name],
        );

        await psql(
          "update notes set body = 'changed' where id = 1; insert into notes (body) values ('third'); " +
            'alter table notes add column extra int; delete from items where id > 100',
        );
        const changed = await dumpText();
        assert.notEqual(changed, before);

        const res = await b.restore(meta.file);
        assert.equal(await dumpText(), before);
        const counts = Object.fromEntries(res.tables.map((t) => [t.name, t.rows]));
        assert.equal(counts['public.items'], 500);
        assert.equal(counts['public.notes'], 2);
        assert.equal(await psql('select body from notes order by id'), 'first\nsecond');
      },
    );
  }
});
