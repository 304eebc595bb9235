/** nginx as a container (`proxy.mode: container`, the guide's ala-proxy) in front of the colours' containers. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { docker, makeDockerProject, type DockerE2e } from '../helpers/docker-project.ts';

const app = `syprx${process.pid}`;
let p: DockerE2e;

before(async () => {
  p = await makeDockerProject({ app, sharedDb: false });
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = await fs.readFile(yml, 'utf8');
  assert.match(text, / {2}mode: host\n/);
  await fs.writeFile(yml, text.replace('  mode: host\n', '  mode: container\n  image: switchyard/base:bookworm\n'));
});
after(async () => {
  if (p) await p.cleanup();
});

test('init -> deploy -> rollback -> down with nginx in its own container', async () => {
  const init = await p.cli(['init']);
  assert.equal(init.code, 0, init.out);
  assert.ok(p.containers().includes(`${app}-proxy`), `containers: ${p.containers().join(', ')}`);
  assert.equal((await p.get('/api/health')).colour, 'blue');

  await fs.writeFile(path.join(p.root, 'app', 'api', 'VERSION'), '2.0.0\n');
  const d = await p.cli(['deploy', '--auto-switch']);
  assert.equal(d.code, 0, d.out);
  const h = await p.get('/api/health');
  assert.equal(h.colour, 'green');
  assert.equal(JSON.parse(h.body).version, '2.0.0');

  const rb = await p.cli(['rollback', '--force']);
  assert.equal(rb.code, 0, rb.out);
  assert.equal((await p.get('/api/health')).colour, 'blue');
  const st = await p.cli(['status']);
  assert.equal(st.code, 0, st.out);
  assert.match(st.out, /proxy: +running, pid \d+, sends traffic to blue/);

  const down = await p.cli(['down']);
  assert.equal(down.code, 0, down.out);
  assert.equal(docker('ps', '-aq', '--filter', `name=^${app}-proxy$`), '', 'the proxy container is gone');
  await assert.rejects(p.get('/api/health'));
});
