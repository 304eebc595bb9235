import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runProxyDaemon } from '../../src/proxy/builtin/daemon.js';
import { saveSnapshot } from '../../src/proxy/builtin/snapshot.js';
import { proxyAlive, proxyClient } from '../../src/proxy/client.js';
import { projectPaths, type ProjectPaths } from '../../src/state/paths.js';
import { freePort, get, startBackend, type TestBackend } from '../helpers/backends.js';
import { daemonInProcess, local, snapshot, tempProject } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';

const routes = [{ path: '/', service: 'app' }];

const daemon = daemonInProcess;

describe('proxy daemon', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let root: string;
  let cleanup: () => Promise<void>;
  let paths: ProjectPaths;
  let port: number;

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    ({ root, cleanup } = await tempProject());
    paths = projectPaths(root);
    port = await freePort();
  }, budget(100));
  after(async () => {
    await blue.close();
    await green.close();
    await cleanup();
  }, budget(100));

  it('refuses to start without a snapshot', budget(100), async () => {
    await assert.rejects(runProxyDaemon(root), { code: 'PROXY_FAILED', message: /no proxy state/ });
  });

  it('serves, owns a 0600 control socket and persists every change before answering', budget(200), async () => {
    await saveSnapshot(paths.proxyState, snapshot(routes, {}, null, port));
    const d = await daemon(root);
    try {
      const st = await fs.stat(paths.proxySocket);
      assert.ok(st.isSocket());
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal((await fs.readFile(paths.proxyPid, 'utf8')).trim(), String(process.pid));

      const c = proxyClient(paths.proxySocket);
      assert.equal((await get(port, '/x')).status, 503);
      await c.setBackends('blue', { app: [local(blue.port)] });
      await c.setBackends('green', { app: [local(green.port)] });
      await c.switchTo('blue');
      assert.equal(JSON.parse(await fs.readFile(paths.proxyState, 'utf8')).active, 'blue');
      assert.equal((await get(port, '/x')).headers['x-switchyard-env'], 'blue');
      await c.switchTo('green');
      // Written before the call returned: the file already says green.
      const saved = JSON.parse(await fs.readFile(paths.proxyState, 'utf8'));
      assert.equal(saved.active, 'green');
      assert.deepEqual(saved.backends.green, { app: [local(green.port)] });
      assert.equal((await get(port, '/x')).headers['x-switchyard-env'], 'green');

      const status = await c.status();
      assert.equal(status.pid, process.pid);
      assert.deepEqual(status.listen, { host: '127.0.0.1', port });
      assert.deepEqual(status.inFlight, { blue: 0, green: 0 });
      const drained = await c.drain('blue', 1_000);
      assert.equal(drained.timedOut, false);
      await assert.rejects(c.drain('green', 100), { name: 'SwitchyardError', code: 'PROXY_FAILED', message: /active/ });
      await assert.rejects(c.switchTo('purple' as never), { code: 'PROXY_FAILED', message: /colour/ });
      await c.configure([{ path: '/only', service: 'app' }]);
      assert.equal((await get(port, '/x')).status, 404);
      await c.configure(routes);
    } finally {
      await d.stop();
    }
    await assert.rejects(fs.stat(paths.proxySocket), { code: 'ENOENT' });
    await assert.rejects(fs.stat(paths.proxyPid), { code: 'ENOENT' });
  });

  it('remembers the active colour across a restart', budget(100), async () => {
    const d = await daemon(root);
    try {
      const s = await proxyAlive(paths.proxySocket);
      assert.equal(s?.active, 'green');
      const r = await get(port, '/again');
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-switchyard-env'], 'green');
    } finally {
      await d.stop();
    }
  });

  it('lets an in-flight request finish when asked to stop', budget(500), async () => {
    const d = await daemon(root);
    const arrived = green.arrived('/slow');
    const slow = get(port, '/slow?ms=500');
    await arrived;
    const t0 = Date.now();
    await d.stop();
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-switchyard-env'], 'green');
    assert.ok(Date.now() - t0 < 5_000);
  });

  it('replaces a stale socket file but refuses to start beside a live daemon', budget(100), async () => {
    await fs.writeFile(paths.proxySocket, 'stale');
    const d = await daemon(root);
    try {
      assert.ok((await fs.stat(paths.proxySocket)).isSocket());
      await assert.rejects(runProxyDaemon(root), { code: 'PROXY_FAILED', message: /already running/ });
      assert.notEqual(await proxyAlive(paths.proxySocket), undefined, 'the first daemon still answers');
    } finally {
      await d.stop();
    }
  });

  it('fails with PORT_IN_USE naming host:port when the public port is taken', budget(100), async () => {
    const squatter = net.createServer();
    const taken = await new Promise<number>((r) =>
      squatter.listen(0, '127.0.0.1', () => r((squatter.address() as net.AddressInfo).port)),
    );
    try {
      await saveSnapshot(paths.proxyState, snapshot(routes, {}, null, taken));
      await assert.rejects(runProxyDaemon(root), {
        code: 'PORT_IN_USE',
        message: new RegExp(`127\\.0\\.0\\.1:${taken}`),
      });
      await assert.rejects(fs.stat(paths.proxySocket), { code: 'ENOENT' });
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});
