/**
 * The example app on the process runtime with DATABASE_URL pointing at a real, private PostgreSQL:
 * blue and green keep their users in that one database. A token issued by blue works on green after
 * `deploy --auto-switch` and on blue again after `rollback --force`, the rows are in PostgreSQL and
 * the JSON store is never written. Then the database goes away: a new colour still starts and
 * reports `database: disconnected`, so the deploy fails at the database check and blue stays live;
 * once the database is back, blue reconnects on its own (no restart) and the token still works.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { CLI, makeProject, ROOT, type Project } from '../helpers/project.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { budget } from '../helpers/budget.ts';

const EMAIL = 'pg-user@example.com';
let pg: TestPostgres;
let p: Project;
let env: NodeJS.ProcessEnv;
let token: string;

before(async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run \`npm run build\` first`);
  assert.ok(
    existsSync(path.join(ROOT, 'examples', 'app', 'api', 'vendor', 'pg.cjs')),
    'examples/app/api/vendor/pg.cjs is missing: run `npm run build` first',
  );
  pg = await startTestPostgres({ db: 'example_api' });
  p = await makeProject('example');
  // Every CLI run gets the URL: services inherit the environment of the switchyard process that starts them.
  env = { DATABASE_URL: pg.url() };
  // Bound the health wait of the failing deploy below (default 60 s).
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = await fs.readFile(yml, 'utf8');
  assert.match(text, /^checks:\n/m);
  await fs.writeFile(yml, text.replace(/^checks:\n/m, 'checks:\n  timeout: 8s\n'));
}, budget(5_000));

after(async () => {
  await p?.cleanup();
  await pg?.cleanup();
}, budget(5_000));

const cli = (...args: string[]) => p.run(args, { env, timeoutMs: 120_000 });

async function call(method: 'GET' | 'POST', pathname: string, opts: { json?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const res = await request(`http://127.0.0.1:${p.port}${pathname}`, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const c = res.headers['x-switchyard-env'];
  const text = await res.body.text();
  return { status: res.statusCode, colour: typeof c === 'string' ? c : undefined, text, json: () => JSON.parse(text) };
}

async function assertHealth(colour: string, version: string, database: 'connected' | 'disconnected' = 'connected') {
  const h = await call('GET', '/api/health');
  assert.equal(h.status, 200, h.text);
  assert.equal(h.colour, colour);
  assert.deepEqual(
    {
      environment: h.json().environment,
      version: h.json().version,
      store: h.json().store,
      database: h.json().database,
    },
    { environment: colour, version, store: 'postgres', database },
  );
}

async function assertSignedIn(colour: string) {
  const me = await call('GET', '/api/me', { token });
  assert.equal(me.status, 200, `/api/me on ${colour}: ${me.text}`);
  assert.equal(me.colour, colour);
  assert.equal(me.json().environment, colour);
  assert.equal(me.json().user.email, EMAIL);
}

async function setVersion(v: string) {
  for (const svc of ['api', 'frontend']) await fs.writeFile(path.join(p.dir, svc, 'VERSION'), `${v}\n`);
}

test(
  'init -> sign in on blue -> deploy -> the token works on green -> rollback -> and on blue',
  budget(8_300),
  async () => {
    const init = await cli('init');
    assert.equal(init.code, 0, init.stdout + init.stderr);
    await assertHealth('blue', '1.0.0');

    const rc = await call('POST', '/api/auth/request-code', { json: { email: EMAIL } });
    assert.equal(rc.status, 200, rc.text);
    assert.equal(rc.colour, 'blue');
    const wrong = await call('POST', '/api/auth/verify', { json: { email: EMAIL, code: 'not-the-code' } });
    assert.equal(wrong.status, 401, 'a wrong code is refused');
    const v = await call('POST', '/api/auth/verify', { json: { email: EMAIL, code: rc.json().devCode } });
    assert.equal(v.status, 200, v.text);
    assert.equal(v.colour, 'blue');
    token = v.json().token;
    assert.match(token, /^[0-9a-f]{48}$/);
    assert.equal(
      (await call('POST', '/api/auth/verify', { json: { email: EMAIL, code: rc.json().devCode } })).status,
      401,
      'a code works once',
    );
    await assertSignedIn('blue');
    assert.equal((await call('GET', '/api/me', { token: 'f'.repeat(48) })).status, 401, 'an unknown token is refused');

    await setVersion('2.0.0');
    const d = await cli('deploy', '--auto-switch');
    assert.equal(d.code, 0, d.stdout + d.stderr);
    await assertHealth('green', '2.0.0');
    await assertSignedIn('green');

    const rb = await cli('rollback', '--force');
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    await assertHealth('blue', '1.0.0');
    await assertSignedIn('blue');

    // The rows are in PostgreSQL: our user with the token blue issued, and the smoke steps' user.
    assert.equal((await pg.psql(`SELECT email FROM users WHERE email = '${EMAIL}'`)).trim(), EMAIL);
    assert.equal((await pg.psql(`SELECT email FROM tokens WHERE token = '${token}'`)).trim(), EMAIL);
    assert.equal((await pg.psql(`SELECT count(*) FROM users WHERE email = 'test@example.com'`)).trim(), '1');
    assert.equal(
      (await pg.psql(`SELECT count(*) FROM login_codes WHERE email = '${EMAIL}'`)).trim(),
      '0',
      'the used code is gone',
    );
    // Nothing went to the JSON store.
    assert.equal(existsSync(path.join(p.dir, 'data')), false, 'no JSON store folder in the project');
    // The password is not in the services' logs.
    const logs = await cli('logs', 'blue');
    assert.equal(logs.code, 0, logs.stdout + logs.stderr);
    assert.match(logs.stdout, new RegExp(`store postgres 127\\.0\\.0\\.1:${pg.port}/example_api`));
    assert.ok(!(logs.stdout + logs.stderr).includes(pg.password), 'the database password is not logged');
  },
);

test(
  'database down: green still starts but fails the database check, blue stays; blue reconnects when it is back',
  budget(10_200),
  async () => {
    assert.ok(token, 'the first test signed in');
    await pg.stop();
    await assertHealth('blue', '1.0.0', 'disconnected');
    assert.equal(
      (await call('GET', '/api/me', { token })).status,
      500,
      'no database: the request fails, the process lives',
    );

    await setVersion('3.0.0');
    const d = await cli('deploy', '--auto-switch');
    const out = d.stdout + d.stderr;
    assert.equal(d.code, 1, out);
    // Green started without a database and answered its health endpoint; only the database level failed.
    assert.match(out, /\[5\/8\] Running health checks on green\.\.\. ✗/, out);
    assert.match(out, /level 1 processes running: ok/, out);
    assert.match(out, /level 3 health endpoints: ok/, out);
    assert.match(
      out,
      /level 4 database: FAILED - api GET \/api\/health: json\.database: expected "connected", got "disconnected"/,
      out,
    );
    assert.ok(!out.includes(pg.password), 'the database password is not printed');
    assert.equal((await p.file('.current-env'))?.trim(), 'blue');
    await assertHealth('blue', '1.0.0', 'disconnected');

    await pg.start();
    // Same blue process, no restart: the next requests reconnect.
    await assertHealth('blue', '1.0.0');
    await assertSignedIn('blue');
  },
);
