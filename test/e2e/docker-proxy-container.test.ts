/**
 * nginx as a container (`proxy.mode: container`, the guide's ala-proxy) in front of the colours'
 * containers: init -> deploy -> rollback -> deploy -> down, with .current-env, state.json, history,
 * the container set (the proxy container included) and the X-Switchyard-Env header checked at each
 * step (expectLive, the same checks as docker-cycle with nginx on the host).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { docker, expectLive, makeDockerProject, setVersion, type DockerE2e } from '../helpers/docker-project.ts';
import { budget } from '../helpers/budget.ts';

const app = `syprx${process.pid}`;
let p: DockerE2e;

before(async () => {
  p = await makeDockerProject({ app, sharedDb: false });
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = await fs.readFile(yml, 'utf8');
  assert.match(text, / {2}mode: host\n/);
  await fs.writeFile(yml, text.replace('  mode: host\n', '  mode: container\n  image: switchyard/base:bookworm\n'));
}, budget(1_000));
after(async () => {
  if (p) await p.cleanup();
}, budget(10_000));

test('init -> deploy -> rollback -> deploy -> down with nginx in its own container', budget(35_800), async () => {
  const proxy = `${app}-proxy`;
  const proxyId = () => docker('inspect', '--format', '{{.Id}}', proxy);

  const init = await p.cli(['init']);
  assert.equal(init.code, 0, init.out);
  const s1 = await expectLive(p, {
    colour: 'blue',
    version: '1.0.0',
    type: 'init',
    from: null,
    historyLength: 1,
    idle: { status: 'stopped', release: null },
    others: [proxy],
  });
  // The nginx serving the requests is the container's: the same one all along (a switch is a flag file, no restart).
  const id = proxyId();

  await setVersion(p, '2.0.0');
  const d = await p.cli(['deploy', '--auto-switch']);
  assert.equal(d.code, 0, d.out);
  const s2 = await expectLive(p, {
    colour: 'green',
    version: '2.0.0',
    type: 'deploy',
    from: 'blue',
    historyLength: 2,
    idle: { status: 'stopped', release: s1.colours.blue.release },
    others: [proxy],
  });
  assert.notEqual(s2.colours.green.release, s1.colours.blue.release, 'a new release');
  assert.equal(proxyId(), id, 'the same proxy container');

  await setVersion(p, '9.9.9'); // a rollback starts the previous release's images, not the working tree
  const rb = await p.cli(['rollback', '--force']);
  assert.equal(rb.code, 0, rb.out);
  await expectLive(p, {
    colour: 'blue',
    version: '1.0.0',
    type: 'rollback',
    from: 'green',
    historyLength: 3,
    release: s1.colours.blue.release!,
    idle: { status: 'stopped', release: s2.colours.green.release },
    others: [proxy],
  });
  const st = await p.cli(['status']);
  assert.equal(st.code, 0, st.out);
  assert.match(st.out, /proxy: +running, pid \d+, sends traffic to blue/);

  await setVersion(p, '3.0.0');
  const d2 = await p.cli(['deploy', '--auto-switch']);
  assert.equal(d2.code, 0, d2.out);
  const s4 = await expectLive(p, {
    colour: 'green',
    version: '3.0.0',
    type: 'deploy',
    from: 'blue',
    historyLength: 4,
    idle: { status: 'stopped', release: s1.colours.blue.release },
    others: [proxy],
  });
  assert.notEqual(s4.colours.green.release, s2.colours.green.release, 'a new release, not the rolled-back one');
  assert.equal(proxyId(), id, 'the same proxy container');

  const down = await p.cli(['down']);
  assert.equal(down.code, 0, down.out);
  assert.equal(docker('ps', '-aq', '--filter', `name=^${proxy}$`), '', 'the proxy container is gone');
  assert.deepEqual(p.containers({ all: true }), [], 'no container of the app left');
  await assert.rejects(p.get('/api/health'));
  assert.equal(await p.file('.current-env'), undefined, 'no colour is current');
});
