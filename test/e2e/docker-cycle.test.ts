/**
 * The guide's topology for real: the example images as containers per colour, a shared PostgreSQL
 * container, nginx on the host in front; init -> deploy -> rollback -> deploy through the built
 * CLI, with .current-env, state.json, history, the container set and the X-Switchyard-Env header
 * checked at each step (expectLive). Both colours keep their users in that one database: a token
 * issued by blue is honoured by green after the deploy, by blue again after the rollback and by the
 * next green release, and the user row is in the db container. Then `logs`, a plain `down` (the
 * database and its volume stay) and `down --volumes` (they go). The tests run in order, each on
 * what the previous one left.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers/project.ts';
import {
  docker,
  expectLive,
  makeDockerProject,
  setVersion,
  type DockerE2e,
  type StateFile,
} from '../helpers/docker-project.ts';
import { budget } from '../helpers/budget.ts';

const app = `sye2e${process.pid}`;
let p: DockerE2e;

const cli = (...args: string[]) => p.cli(args);
const get = (pathname: string) => p.get(pathname);
const containers = () => p.containers();
const EMAIL = 'cycle-user@example.com';
const SECRET = 'e2e-pg-secret-value';
const DB = () => `${app}-db`;
/** What each step leaves for the next. */
const s: { init?: StateFile; deploy?: StateFile; rollback?: StateFile; token?: string } = {};

/** /api/health through nginx: answered by `colour`, with the PostgreSQL store connected. */
async function assertHealth(colour: string, version: string) {
  const h = await get('/api/health');
  assert.equal(h.status, 200, h.body);
  assert.equal(h.colour, colour);
  const body = JSON.parse(h.body);
  assert.equal(body.environment, colour);
  assert.equal(body.version, version);
  assert.equal(body.store, 'postgres', `the api uses the shared database: ${h.body}`);
  assert.equal(body.database, 'connected', h.body);
}

/** GET /api/me with the token through nginx: 200 from `colour`, for the signed-in user. */
async function assertSignedIn(token: string, colour: string) {
  const me = await p.get('/api/me', { authorization: `Bearer ${token}` });
  assert.equal(me.status, 200, `/api/me on ${colour}: ${me.body}`);
  assert.equal(me.colour, colour);
  const body = JSON.parse(me.body);
  assert.equal(body.environment, colour);
  assert.equal(body.user.email, EMAIL);
}

/** psql inside the db container (local socket, trust), unaligned tuples only. */
const dbQuery = (sql: string) =>
  docker(
    'exec',
    `${app}-db`,
    'psql',
    '-X',
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    '-U',
    'ala_user',
    '-d',
    'ala_production',
    '-c',
    sql,
  );

before(async () => {
  p = await makeDockerProject({ app, env: { POSTGRES_PASSWORD: SECRET } });
}, budget(1_000));

after(async () => {
  if (p) await p.cleanup();
}, budget(10_000));

test(
  'init: shared database, blue live (state, history, containers, header), a user signed in on blue',
  budget(14_100),
  async () => {
    const init = await cli('init');
    assert.equal(init.code, 0, init.out);
    assert.match(init.out, /Starting shared services\.\.\. ✓ .*db: .*healthy/);
    s.init = await expectLive(p, {
      colour: 'blue',
      version: '1.0.0',
      type: 'init',
      from: null,
      historyLength: 1,
      idle: { status: 'stopped', release: null },
      others: [DB()],
    });
    await assertHealth('blue', '1.0.0');

    // Sign in on blue through nginx; the user and its token go to the shared database.
    const rc = await p.post('/api/auth/request-code', { email: EMAIL });
    assert.equal(rc.status, 200, rc.body);
    assert.equal(rc.colour, 'blue');
    const v = await p.post('/api/auth/verify', { email: EMAIL, code: JSON.parse(rc.body).devCode });
    assert.equal(v.status, 200, v.body);
    assert.equal(v.colour, 'blue');
    const { token } = JSON.parse(v.body) as { token: string };
    assert.match(token, /^[0-9a-f]{48}$/);
    s.token = token;
    await assertSignedIn(token, 'blue');
    assert.equal((await p.get('/api/me', { authorization: 'Bearer 0000' })).status, 401, 'an unknown token is refused');
  },
);

test(
  'deploy: backup, migration, green live with a new release, blue stopped; the user stays signed in',
  budget(18_200),
  async () => {
    assert.ok(s.init && s.token, 'init passed');
    // The signed-in user must survive the colour change: green reads the same database.
    await setVersion(p, '2.0.0');
    const d = await cli('deploy', '--auto-switch');
    assert.equal(d.code, 0, d.out);
    // The guide's `docker exec ala-db pg_dump`: inside the db container, before anything changed.
    assert.match(d.out, /Backing up database.*db-backup-\d{8}-\d{6}-.*\.dump \([\d.]+ (B|KiB|MiB), verified/);
    assert.ok(d.out.indexOf('Backing up database') < d.out.indexOf('Building and starting green'));
    // The example's migration, in green's api container, after its health checks, before the switch.
    assert.match(d.out, /Running database migration.*`node migrate\.mjs` in api \(green\)/);
    assert.ok(d.out.indexOf('Running health checks on green') < d.out.indexOf('Running database migration'));
    assert.ok(d.out.indexOf('Running database migration') < d.out.indexOf('Switching traffic to green'));
    const dumps = (await fs.readdir(path.join(p.dir, 'backups'))).filter((f) => f.endsWith('.dump'));
    assert.equal(dumps.length, 1, dumps.join(', '));
    assert.ok(!d.out.includes(SECRET), 'the database password is not printed');
    s.deploy = await expectLive(p, {
      colour: 'green',
      version: '2.0.0',
      type: 'deploy',
      from: 'blue',
      historyLength: 2,
      idle: { status: 'stopped', release: s.init.colours.blue.release },
      others: [DB()],
    });
    assert.notEqual(s.deploy.colours.green.release, s.init.colours.blue.release, 'a new release');
    await assertHealth('green', '2.0.0');
    await assertSignedIn(s.token, 'green');
  },
);

test(
  'rollback: blue live again on exactly its previous release, green stopped; the user stays signed in',
  budget(5_400),
  async () => {
    assert.ok(s.init && s.deploy && s.token, 'deploy passed');
    // A later edit of the working tree must not change what a rollback starts: the release's images.
    await setVersion(p, '9.9.9');
    const r = await cli('rollback', '--force');
    assert.equal(r.code, 0, r.out);
    s.rollback = await expectLive(p, {
      colour: 'blue',
      version: '1.0.0',
      type: 'rollback',
      from: 'green',
      historyLength: 3,
      release: s.init.colours.blue.release!,
      idle: { status: 'stopped', release: s.deploy.colours.green.release },
      others: [DB()],
    });
    await assertHealth('blue', '1.0.0');
    await assertSignedIn(s.token, 'blue');
  },
);

test('logs blue api: only the api container of blue, unprefixed, secrets hidden', budget(1_800), async () => {
  assert.ok(s.rollback, 'blue is live again');
  const all = await cli('logs', 'blue');
  assert.equal(all.code, 0, all.out);
  assert.match(
    all.out,
    /^api \| api 1\.0\.0 \(blue\) listening on /m,
    'container output of the api, streamed from the engine',
  );
  assert.match(all.out, /^frontend \| frontend 1\.0\.0 \(blue\) listening on /m);

  const one = await cli('logs', 'blue', 'api');
  assert.equal(one.code, 0, one.out);
  assert.match(one.out, /^api 1\.0\.0 \(blue\) listening on 0\.0\.0\.0:5000/m, 'one service: lines without a prefix');
  assert.doesNotMatch(one.out, /^(api|frontend) \| /m, 'no prefix with one service');
  assert.doesNotMatch(one.out, /frontend/, "nothing of the frontend's container");
  assert.doesNotMatch(one.out, /\(green\)/, "nothing of green's");
  assert.ok(!one.out.includes(SECRET), 'the database password is not printed');

  const unknown = await cli('logs', 'blue', 'nope');
  assert.equal(unknown.code, 2, unknown.out);
  assert.match(unknown.out, /no service named "nope"/);
});

test(
  'logs blue api -f: prints what the container has written, then new output as it comes, until SIGINT (exit 0)',
  budget(700),
  async () => {
    assert.ok(s.rollback, 'blue is live again');
    const child = spawn(process.execPath, [CLI, 'logs', 'blue', 'api', '-f'], {
      cwd: p.dir,
      env: p.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    const until = async (what: string, ok: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline || child.exitCode !== null)
          assert.fail(
            `waiting for ${what}: stdout ${JSON.stringify(out)}, stderr ${JSON.stringify(err)}, exit ${child.exitCode}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until('the existing lines', () => /^api 1\.0\.0 \(blue\) listening on /m.test(out), 20_000);
      // New output after the command started: a line written to the container's stdout (tini's fd 1).
      const marker = `sy-e2e-follow-${process.pid}-${Date.now()}`;
      docker('exec', `${app}-api-blue`, 'sh', '-c', `echo ${marker} > /proc/1/fd/1`);
      await until('the new line', () => out.split('\n').includes(marker), 20_000);
      assert.equal(child.exitCode, null, 'still following');
      const t0 = Date.now();
      child.kill('SIGINT');
      const { code, signal } = await exited;
      assert.equal(signal, null, `exited by itself, not killed: ${err}`);
      assert.equal(code, 0, `exit code after SIGINT\nstdout ${out}\nstderr ${err}`);
      assert.ok(Date.now() - t0 < 10_000, `stopped promptly after SIGINT (${Date.now() - t0} ms)`);
      assert.doesNotMatch(out, /^(api|frontend) \| /m, 'no prefix with one service');
      assert.ok(!out.includes(SECRET), 'the database password is not printed');
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  },
);

test('logs blue api -f interrupted while it opens the stream: still exits 0 at once', budget(1_700), async () => {
  // A SIGINT that lands before the follow stream is open must not be lost (it once hung the command).
  for (const delayMs of [150, 250, 350, 450]) {
    const child = spawn(process.execPath, [CLI, 'logs', 'blue', 'api', '-f'], {
      cwd: p.dir,
      env: p.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal })),
    );
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill('SIGINT');
    let hung = false;
    const killer = setTimeout(() => ((hung = true), child.kill('SIGKILL')), 10_000);
    const { code, signal } = await exited;
    clearTimeout(killer);
    assert.ok(!hung, `SIGINT after ${delayMs} ms: still running 10 s later, killed; stderr ${err}`);
    // Before Node installed its handler the default action ends it (signal SIGINT); after, exit 0.
    assert.ok(code === 0 || signal === 'SIGINT', `SIGINT after ${delayMs} ms: exit ${code} (${signal}); stderr ${err}`);
  }
});

test(
  'deploy again: green live with a third release, blue stopped on its release; the user stays signed in',
  budget(11_500),
  async () => {
    assert.ok(s.init && s.deploy && s.rollback && s.token, 'rollback passed');
    await setVersion(p, '3.0.0');
    const d = await cli('deploy', '--auto-switch');
    assert.equal(d.code, 0, d.out);
    assert.match(d.out, /Running database migration/);
    const state = await expectLive(p, {
      colour: 'green',
      version: '3.0.0',
      type: 'deploy',
      from: 'blue',
      historyLength: 4,
      idle: { status: 'stopped', release: s.init.colours.blue.release },
      others: [DB()],
    });
    assert.notEqual(
      state.colours.green.release,
      s.deploy.colours.green.release,
      'a new release, not the rolled-back one',
    );
    assert.notEqual(state.colours.green.release, s.init.colours.blue.release);
    await assertHealth('green', '3.0.0');
    await assertSignedIn(s.token, 'green');

    // The rows are in PostgreSQL itself: the user, and the token blue issued (looked up by value).
    assert.equal(dbQuery(`SELECT email FROM users WHERE email = '${EMAIL}'`), EMAIL);
    assert.equal(dbQuery(`SELECT email FROM tokens WHERE token = '${s.token}'`), EMAIL);
    // The smoke steps' login (test@example.com), on every green, went to the same database.
    assert.equal(dbQuery(`SELECT count(*) FROM users WHERE email = 'test@example.com'`), '1');

    const st = await cli('status');
    assert.equal(st.code, 0, st.out);
    assert.match(st.out, /shared db +running/);
    assert.ok(!st.out.includes(SECRET), 'the database password is not printed');
  },
);

const volumes = () =>
  docker('volume', 'ls', '-q', '--filter', `label=switchyard.app=${app}`).split('\n').filter(Boolean);

test(
  'down (plain): colours and nginx stop, the shared database keeps running with its data volume',
  budget(1_200),
  async () => {
    assert.deepEqual(volumes(), [`${app}-pgdata`], 'the database volume exists before');
    const r = await cli('down');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(containers(), [DB()], 'only the shared database runs');
    assert.deepEqual(p.containers({ all: true }), [DB()], 'no colour container left, running or not');
    assert.equal(docker('inspect', '--format', '{{.State.Status}}', DB()), 'running');
    assert.deepEqual(volumes(), [`${app}-pgdata`], 'its data volume is kept');
    // The data is still there, in the running database.
    assert.equal(dbQuery(`SELECT email FROM users WHERE email = '${EMAIL}'`), EMAIL);
    await assert.rejects(get('/api/health'), 'nginx is stopped');
    assert.equal(await p.file('.current-env'), undefined, 'no colour is current');
    const state = JSON.parse((await p.file('.switchyard/state.json'))!) as StateFile;
    assert.equal(state.active, null);
    assert.deepEqual([state.colours.blue.status, state.colours.green.status], ['stopped', 'stopped']);
    const last = JSON.parse((await p.file('.switchyard/history.jsonl'))!.trim().split('\n').at(-1)!);
    assert.deepEqual([last.type, last.result], ['down', 'success']);
  },
);

test(
  'down --volumes asks (exit 2 without a terminal or --yes), then deletes the data volumes',
  budget(1_600),
  async () => {
    const refused = await cli('down', '--volumes');
    assert.equal(refused.code, 2, refused.out);
    assert.match(refused.out, /--yes/);
    assert.ok(volumes().length > 0, 'the data volumes exist before');
    assert.deepEqual(containers(), [DB()], 'the refusal changed nothing');
    const r = await cli('down', '--volumes', '--yes');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /deleted volumes /);
    assert.deepEqual(volumes(), []);
    assert.deepEqual(p.containers({ all: true }), []);
  },
);
