/**
 * The guide's topology for real: the example images as containers per colour, a shared PostgreSQL
 * container, nginx on the host in front; init -> deploy -> rollback through the built CLI. Both
 * colours keep their users in that one database: a token issued by blue is honoured by green after
 * the deploy and by blue again after the rollback, and the user row is in the db container.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { docker, makeDockerProject, type DockerE2e } from '../helpers/docker-project.ts';

const app = `sye2e${process.pid}`;
let p: DockerE2e;

const cli = (...args: string[]) => p.cli(args);
const get = (pathname: string) => p.get(pathname);
const containers = () => p.containers();
const EMAIL = 'cycle-user@example.com';

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
const dbQuery = (sql: string) => docker('exec', `${app}-db`, 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-U', 'ala_user', '-d', 'ala_production', '-c', sql);

before(async () => {
  p = await makeDockerProject({ app, env: { POSTGRES_PASSWORD: 'e2e-pg-secret-value' } });
});

after(async () => {
  if (p) await p.cleanup();
});

test('init -> deploy -> rollback with containers, a shared database and nginx', async () => {
  const init = await cli('init');
  assert.equal(init.code, 0, init.out);
  assert.match(init.out, /Starting shared services\.\.\. ✓ .*db: .*healthy/);
  assert.deepEqual(containers(), [`${app}-api-blue`, `${app}-db`, `${app}-frontend-blue`]);
  await assertHealth('blue', '1.0.0');
  assert.equal((await fs.readFile(path.join(p.dir, '.current-env'), 'utf8')).trim(), 'blue');

  // Sign in on blue through nginx; the user and its token go to the shared database.
  const rc = await p.post('/api/auth/request-code', { email: EMAIL });
  assert.equal(rc.status, 200, rc.body);
  assert.equal(rc.colour, 'blue');
  const v = await p.post('/api/auth/verify', { email: EMAIL, code: JSON.parse(rc.body).devCode });
  assert.equal(v.status, 200, v.body);
  assert.equal(v.colour, 'blue');
  const { token } = JSON.parse(v.body) as { token: string };
  assert.match(token, /^[0-9a-f]{48}$/);
  await assertSignedIn(token, 'blue');
  assert.equal((await p.get('/api/me', { authorization: 'Bearer 0000' })).status, 401, 'an unknown token is refused');

  // The signed-in user must survive the colour change: green reads the same database.
  await fs.writeFile(path.join(p.root, 'app', 'api', 'VERSION'), '2.0.0\n');
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
  assert.ok(!d.out.includes('e2e-pg-secret-value'), 'the database password is not printed');
  await assertHealth('green', '2.0.0');
  assert.deepEqual(containers(), [`${app}-api-green`, `${app}-db`, `${app}-frontend-green`]);
  await assertSignedIn(token, 'green');

  const r = await cli('rollback', '--force');
  assert.equal(r.code, 0, r.out);
  await assertHealth('blue', '1.0.0');
  assert.deepEqual(containers(), [`${app}-api-blue`, `${app}-db`, `${app}-frontend-blue`]);
  await assertSignedIn(token, 'blue');

  // The rows are in PostgreSQL itself: the user, and the token blue issued (looked up by value).
  assert.equal(dbQuery(`SELECT email FROM users WHERE email = '${EMAIL}'`), EMAIL);
  assert.equal(dbQuery(`SELECT email FROM tokens WHERE token = '${token}'`), EMAIL);
  // The smoke steps' login on green (test@example.com) went to the same database.
  assert.equal(dbQuery(`SELECT count(*) FROM users WHERE email = 'test@example.com'`), '1');
  const state = JSON.parse(await fs.readFile(path.join(p.dir, '.switchyard', 'state.json'), 'utf8'));
  assert.equal(state.active, 'blue');

  const logs = await cli('logs', 'blue');
  assert.equal(logs.code, 0, logs.out);
  assert.match(logs.out, /^api \| /m, 'container output of the api, streamed from the engine');
  assert.match(logs.out, /^frontend \| /m);

  const st = await cli('status');
  assert.equal(st.code, 0, st.out);
  assert.match(st.out, /shared db +running/);
  assert.ok(!st.out.includes('e2e-pg-secret-value'), 'the database password is not printed');
});

test('down --volumes asks (exit 2 without a terminal or --yes), then deletes the data volumes', async () => {
  const refused = await cli('down', '--volumes');
  assert.equal(refused.code, 2, refused.out);
  assert.match(refused.out, /--yes/);
  const volumes = () => docker('volume', 'ls', '-q', '--filter', `label=switchyard.app=${app}`).split('\n').filter(Boolean);
  assert.ok(volumes().length > 0, 'the data volumes exist before');
  const r = await cli('down', '--volumes', '--yes');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /deleted volumes /);
  assert.deepEqual(volumes(), []);
  assert.deepEqual(containers(), []);
});
