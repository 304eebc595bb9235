/**
 * The guide's topology for real: the example images as containers per colour, a shared PostgreSQL
 * container, nginx on the host in front; init -> deploy -> rollback through the built CLI.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { CLI, freePort, ROOT } from '../helpers/project.ts';
import { spawnSync } from 'node:child_process';

const app = `sye2e${process.pid}`;
let dir: string;
let port: number;
let env: NodeJS.ProcessEnv;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: path.join(dir, 'docker'), env, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

async function get(pathname: string) {
  const res = await request(`http://127.0.0.1:${port}${pathname}`, { headersTimeout: 5000, bodyTimeout: 5000 });
  return { status: res.statusCode, colour: res.headers['x-switchyard-env'], body: await res.body.text() };
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-e2e-docker-'));
  await fs.cp(path.join(ROOT, 'examples', 'app'), path.join(dir, 'app'), { recursive: true, filter: (s) => !/[/\\]data$/.test(s) });
  await fs.cp(path.join(ROOT, 'examples', 'docker'), path.join(dir, 'docker'), { recursive: true });
  const yml = path.join(dir, 'docker', 'switchyard.yml');
  await fs.writeFile(yml, (await fs.readFile(yml, 'utf8')).replace('app: ala', `app: ${app}`));
  port = await freePort();
  env = { ...process.env, SWITCHYARD_PORT: String(port), POSTGRES_PASSWORD: 'e2e-pg-secret-value' };
});

after(async () => {
  cli('down', '--shared', '--force-unlock');
  // Everything this test made in Docker is named after its app: remove it all.
  for (const c of docker('ps', '-aq', '--filter', `name=${app}-`).split('\n').filter(Boolean)) docker('rm', '-f', c);
  for (const v of docker('volume', 'ls', '-q', '--filter', `name=${app}-`).split('\n').filter(Boolean)) docker('volume', 'rm', v);
  for (const i of docker('images', '--format', '{{.Repository}}:{{.Tag}}').split('\n').filter((i) => i.startsWith(`${app}-`))) docker('image', 'rm', '-f', i);
  for (const n of docker('network', 'ls', '-q', '--filter', `name=${app}-`).split('\n').filter(Boolean)) docker('network', 'rm', n);
  await fs.rm(dir, { recursive: true, force: true });
});

function containers(): string[] {
  return docker('ps', '--format', '{{.Names}}', '--filter', `label=switchyard.app=${app}`).split('\n').filter(Boolean).sort();
}

test('init -> deploy -> rollback with containers, a shared database and nginx', async () => {
  const init = cli('init');
  assert.equal(init.code, 0, init.out);
  assert.match(init.out, /Starting shared services\.\.\. ✓ .*db: .*healthy/);
  assert.deepEqual(containers(), [`${app}-api-blue`, `${app}-db`, `${app}-frontend-blue`]);
  let h = await get('/api/health');
  assert.equal(h.colour, 'blue');
  assert.equal(JSON.parse(h.body).environment, 'blue');
  assert.equal((await fs.readFile(path.join(dir, 'docker', '.current-env'), 'utf8')).trim(), 'blue');

  // The smoke steps' test user lives in the shared store: it must survive the colour change.
  await fs.writeFile(path.join(dir, 'app', 'api', 'VERSION'), '2.0.0\n');
  const d = cli('deploy', '--auto-switch');
  assert.equal(d.code, 0, d.out);
  h = await get('/api/health');
  assert.equal(h.colour, 'green');
  assert.equal(JSON.parse(h.body).version, '2.0.0');
  assert.deepEqual(containers(), [`${app}-api-green`, `${app}-db`, `${app}-frontend-green`]);

  const r = cli('rollback', '--force');
  assert.equal(r.code, 0, r.out);
  h = await get('/api/health');
  assert.equal(h.colour, 'blue');
  assert.equal(JSON.parse(h.body).version, '1.0.0');
  assert.deepEqual(containers(), [`${app}-api-blue`, `${app}-db`, `${app}-frontend-blue`]);
  const state = JSON.parse(await fs.readFile(path.join(dir, 'docker', '.switchyard', 'state.json'), 'utf8'));
  assert.equal(state.active, 'blue');

  const logs = cli('logs', 'blue');
  assert.equal(logs.code, 0, logs.out);
  assert.match(logs.out, /^api \| /m, 'container output of the api, streamed from the engine');
  assert.match(logs.out, /^frontend \| /m);

  const st = cli('status');
  assert.equal(st.code, 0, st.out);
  assert.match(st.out, /shared db +running/);
  assert.ok(!st.out.includes('e2e-pg-secret-value'), 'the database password is not printed');
});
