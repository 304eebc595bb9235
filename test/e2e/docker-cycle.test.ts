/**
 * The guide's topology for real: the example images as containers per colour, a shared PostgreSQL
 * container, nginx on the host in front; init -> deploy -> rollback through the built CLI.
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
  let h = await get('/api/health');
  assert.equal(h.colour, 'blue');
  assert.equal(JSON.parse(h.body).environment, 'blue');
  assert.equal((await fs.readFile(path.join(p.dir, '.current-env'), 'utf8')).trim(), 'blue');

  // The smoke steps' test user lives in the shared store: it must survive the colour change.
  await fs.writeFile(path.join(p.root, 'app', 'api', 'VERSION'), '2.0.0\n');
  const d = await cli('deploy', '--auto-switch');
  assert.equal(d.code, 0, d.out);
  h = await get('/api/health');
  assert.equal(h.colour, 'green');
  assert.equal(JSON.parse(h.body).version, '2.0.0');
  assert.deepEqual(containers(), [`${app}-api-green`, `${app}-db`, `${app}-frontend-green`]);

  const r = await cli('rollback', '--force');
  assert.equal(r.code, 0, r.out);
  h = await get('/api/health');
  assert.equal(h.colour, 'blue');
  assert.equal(JSON.parse(h.body).version, '1.0.0');
  assert.deepEqual(containers(), [`${app}-api-blue`, `${app}-db`, `${app}-frontend-blue`]);
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
