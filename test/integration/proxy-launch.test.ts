import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadSnapshot } from '../../src/proxy/builtin/snapshot.js';
import { proxyAlive } from '../../src/proxy/client.js';
import { ensureProxy, stopProxy } from '../../src/proxy/launch.js';
import { projectPaths, type ProjectPaths } from '../../src/state/paths.js';
import { freePort, get, startBackend, waitFor, type TestBackend } from '../helpers/backends.js';
import { local, tempProject } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';
import { liveness } from '../../src/util/procinfo.js';
import { pidAlive } from '../../src/util/pid.ts';
import { ORPHAN_CHECK_MS } from '../../src/proxy/builtin/daemon.js';

/** Whether 127.0.0.1:port can be bound (nothing holds it). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

// These spawn the real CLI (`switchyard proxy --project DIR` through selfCommand), detached.
const routes = [{ path: '/', service: 'app' }];

describe('ensureProxy / stopProxy', () => {
  let blue: TestBackend;
  let root: string;
  let cleanup: () => Promise<void>;
  let paths: ProjectPaths;

  before(async () => {
    blue = await startBackend('blue');
    ({ root, cleanup } = await tempProject());
    paths = projectPaths(root);
  }, budget(100));
  after(async () => {
    await stopProxy(paths).catch(() => {});
    await blue.close();
    await cleanup();
  }, budget(100));

  it(
    'starts a detached daemon once, reconfigures routes, and refuses another listen address',
    budget(3_800),
    async () => {
      const port = await freePort();
      const want = { listen: { host: '127.0.0.1', port }, routes };
      const first = await ensureProxy(paths, want);
      assert.equal(first.started, true);
      assert.equal(first.status.active, null);
      assert.notEqual(first.status.pid, process.pid);
      assert.equal((await loadSnapshot(paths.proxyState))?.active, null);

      await first.control.setBackends('blue', { app: [local(blue.port)] });
      await first.control.switchTo('blue');
      assert.equal((await get(port, '/hello')).headers['x-switchyard-env'], 'blue');

      const second = await ensureProxy(paths, want);
      assert.equal(second.started, false);
      assert.equal(second.status.pid, first.status.pid);

      const moved = [{ path: '/api', service: 'app' }];
      const third = await ensureProxy(paths, { ...want, routes: moved });
      assert.equal(third.started, false);
      assert.deepEqual(third.status.routes, moved);
      assert.equal((await get(port, '/hello')).status, 404);

      await assert.rejects(
        ensureProxy(paths, { ...want, listen: { host: '127.0.0.1', port: port + 1 } }),
        (e: Error & { code?: string; hint?: string }) => {
          assert.equal(e.code, 'PROXY_FAILED');
          assert.match(e.hint ?? '', /switchyard down/);
          return true;
        },
      );

      assert.equal(await stopProxy(paths), true);
      // Gone, or a zombie its parent (this test process) has not reaped yet: either way not running.
      assert.notEqual(await liveness(first.status.pid, undefined), 'running');
      assert.equal(await proxyAlive(paths.proxySocket), undefined);
      await assert.rejects(fs.stat(paths.proxySocket), { code: 'ENOENT' });
      assert.equal(await stopProxy(paths), false);

      // Restarted, it serves the colour it served before, with the routes it was last given.
      const again = await ensureProxy(paths, { ...want, routes });
      assert.equal(again.started, true);
      assert.equal(again.status.active, 'blue');
      assert.equal((await get(port, '/hello')).headers['x-switchyard-env'], 'blue');
    },
  );

  // not yet measured: estimate
  it(
    'a daemon whose control socket is removed notices, drains and exits, freeing the port',
    budget(3_000),
    async () => {
      const live = await proxyAlive(paths.proxySocket);
      assert.ok(live, 'the daemon from the previous test is running');
      const port = live.listen.port;
      // A request in flight when the socket goes finishes (the daemon drains as on SIGTERM).
      const slow = get(port, '/slow?ms=1500');
      assert.ok(
        await waitFor(async () => ((await proxyAlive(paths.proxySocket))?.inFlight.blue ?? 0) > 0),
        'the slow request reached the proxy',
      );
      await fs.rm(paths.proxySocket);
      assert.ok(await waitFor(() => !pidAlive(live.pid), ORPHAN_CHECK_MS * 3 + 5_000), `pid ${live.pid} still running`);
      assert.equal((await slow).status, 200, 'the request in flight finished');
      const log = await fs.readFile(paths.proxyLog, 'utf8');
      assert.match(
        log,
        /stopping \(the control socket .*proxy\.sock is gone: no command can reach this proxy any more\)/,
      );
      await assert.rejects(fs.stat(paths.proxyPid), { code: 'ENOENT' });
      assert.equal(await portFree(port), true, `port ${port} is free again`);
      assert.equal(await stopProxy(paths), false, 'nothing left to stop');
    },
  );

  // not yet measured: estimate
  it('a daemon whose project folder is deleted exits within seconds, freeing the port', budget(4_000), async () => {
    const other = await tempProject();
    const otherPaths = projectPaths(other.root);
    try {
      const port = await freePort();
      const { status } = await ensureProxy(otherPaths, { listen: { host: '127.0.0.1', port }, routes });
      assert.ok(pidAlive(status.pid));
      const t0 = Date.now();
      await fs.rm(other.root, { recursive: true, force: true });
      assert.ok(
        await waitFor(() => !pidAlive(status.pid), ORPHAN_CHECK_MS * 3 + 5_000),
        `pid ${status.pid} still running`,
      );
      assert.equal(await portFree(port), true, `port ${port} is free again`);
      // No in-flight request: it exits as soon as it noticed, well inside the bound above.
      assert.ok(Date.now() - t0 < ORPHAN_CHECK_MS * 3 + 5_000);
    } finally {
      await stopProxy(otherPaths).catch(() => {});
      await other.cleanup();
    }
  });

  it('reports a taken port as PORT_IN_USE with the log tail', budget(1_500), async () => {
    const squatter = net.createServer();
    const taken = await new Promise<number>((r) =>
      squatter.listen(0, '127.0.0.1', () => r((squatter.address() as net.AddressInfo).port)),
    );
    try {
      await assert.rejects(
        ensureProxy(paths, { listen: { host: '127.0.0.1', port: taken }, routes }),
        (e: Error & { code?: string; details?: string[] }) => {
          assert.equal(e.code, 'PORT_IN_USE');
          assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${taken}`));
          assert.ok(
            (e.details ?? []).some((l) => l.includes('already in use')),
            JSON.stringify(e.details),
          );
          return true;
        },
      );
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});
