/** init -> deploy -> rollback -> deploy -> down through the built CLI with `proxy.kind: nginx` (a real nginx). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isNginxMaster } from '../../src/proxy/nginx/procfs.js';
import { budget } from '../helpers/budget.js';
import { makeProject, type Project } from '../helpers/project.js';

let p: Project;
before(async () => {
  p = await makeProject('fixture', { proxy: 'nginx' });
}, budget(1_000));
after(async () => {
  await p.cleanup();
}, budget(2_000));

async function expectLive(colour: string, version: string) {
  assert.equal((await p.file('.current-env'))?.trim(), colour);
  const state = JSON.parse((await p.file('.switchyard/state.json'))!);
  assert.equal(state.active, colour);
  const nginxState = JSON.parse((await p.file('.switchyard/nginx/state.json'))!);
  assert.equal(nginxState.active, colour);
  assert.equal(
    (await p.file('.switchyard/nginx/green.active')) !== undefined,
    colour === 'green',
    'the flag file is what nginx routes by',
  );
  for (const pathname of ['/api/health', '/']) {
    const r = await p.get(pathname);
    assert.equal(r.status, 200, `${pathname}: ${r.body}`);
    assert.equal(r.colour, colour, pathname);
  }
  assert.equal(JSON.parse((await p.get('/api/health')).body).version, version);
  return state;
}

async function masterPid(): Promise<number> {
  return Number((await p.file('.switchyard/nginx/nginx.pid'))?.trim());
}

test(
  'init -> deploy -> rollback -> deploy through nginx, one master throughout, and down stops it',
  budget(11_000),
  async () => {
    const init = await p.run(['init']);
    assert.equal(init.code, 0, init.stdout + init.stderr);
    const pid = await masterPid();
    assert.ok(await isNginxMaster(pid), 'init started an nginx master');
    await expectLive('blue', 'v1');

    await p.setBehaviour({ version: 'v2' });
    const d1 = await p.run(['deploy', '--auto-switch']);
    assert.equal(d1.code, 0, d1.stdout + d1.stderr);
    await expectLive('green', 'v2');

    const rb = await p.run(['rollback', '--force']);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    await expectLive('blue', 'v1');

    // Ports are remembered per colour, so the second green deploy needs no nginx reload.
    const conf = await p.file('.switchyard/nginx/nginx.conf');
    await p.setBehaviour({ version: 'v3' });
    const d2 = await p.run(['deploy', '--auto-switch']);
    assert.equal(d2.code, 0, d2.stdout + d2.stderr);
    await expectLive('green', 'v3');
    assert.equal(await p.file('.switchyard/nginx/nginx.conf'), conf, 'same backends: the config was not rewritten');
    assert.equal(await masterPid(), pid, 'the same nginx master served the whole cycle');

    const st = await p.run(['status', '--json']);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const report = JSON.parse(st.stdout.trim().split('\n').at(-1)!);
    assert.equal(report.proxy.active, 'green');
    assert.deepEqual(report.problems, []);

    const down = await p.run(['down']);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.match(down.stdout, /stopped the proxy/);
    assert.equal(await isNginxMaster(pid), false, 'down stopped nginx');
    await assert.rejects(p.get('/'));
  },
);
