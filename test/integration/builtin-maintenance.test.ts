import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProxyServer } from '../../src/proxy/builtin/server.js';
import { loadSnapshot, type ProxySnapshot } from '../../src/proxy/builtin/snapshot.js';
import { NO_FEATURES, type ProxyFeatures } from '../../src/proxy/features.js';
import { DEFAULT_MAINTENANCE_MESSAGE, escapeHtml } from '../../src/proxy/maintenance-page.js';
import { freePort, startBackend, type TestBackend } from '../helpers/backends.js';
import { hit, wsHello } from '../helpers/builtin-traffic.js';
import { local, persistedProxy, restartPersisted, snapshot } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';

const routes = [{ path: '/', service: 'app' }];
const OUTSIDER = '127.0.0.2';
const MESSAGE = 'Back at 5 <b>pm</b> & "soon" \'ish\'';

describe('built-in proxy: maintenance mode', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let cleanup: () => Promise<void>;
  let file: string;
  let proxy: ProxyServer;
  let port: number;
  let previewPort: number;
  let features: ProxyFeatures;

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    previewPort = await freePort();
    features = {
      ...NO_FEATURES,
      preview: { host: '127.0.0.1', port: previewPort },
      maintenanceAllow: ['127.0.0.1', '10.0.0.0/8'],
      retryAfterS: 120,
    };
    ({ proxy, port, file, cleanup } = await persistedProxy({ blue: blue.port, green: green.port }, features));
  }, budget(100));
  after(async () => {
    await proxy.close(2_000);
    await blue.close();
    await green.close();
    await cleanup();
  }, budget(100));

  it(
    'answers everyone outside the allowlist with the 503 page, and lets the allowlist through',
    budget(100),
    async () => {
      assert.equal((await hit(port, '/x', { from: OUTSIDER })).status, 200);
      const t0 = Date.now();
      await proxy.setMaintenance({ on: true, message: MESSAGE });
      const st = await proxy.status();
      assert.equal(st.maintenance?.message, MESSAGE);
      assert.ok(Math.abs(Date.parse(st.maintenance!.since) - t0) < 5_000);

      const r = await hit(port, '/x', { from: OUTSIDER });
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '120');
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.ok(r.body.includes(`<p>${escapeHtml(MESSAGE)}</p>`), r.body);
      assert.ok(!r.body.includes('<b>pm</b>'), 'the message is escaped');
      assert.equal(blue.hits.get('/x'), 1, 'the backend saw nothing while in maintenance');

      const ok = await hit(port, '/x', { from: '127.0.0.1' });
      assert.equal(ok.status, 200);
      assert.equal(ok.colour, 'blue');
    },
  );

  it('refuses WebSocket upgrades from outside the allowlist with 503', budget(100), async () => {
    const w = await wsHello(port, '/live', { from: OUTSIDER });
    assert.equal(w.status, 503);
    assert.equal(w.headers?.['retry-after'], '120');
    assert.match(w.body ?? '', /Down for maintenance/);
    assert.match((await wsHello(port, '/live', { from: '127.0.0.1' })).hello ?? '', /^hello from blue/);
  });

  it('leaves the preview listener alone', budget(100), async () => {
    const r = await hit(previewPort, '/check', { from: OUTSIDER });
    assert.equal(r.status, 200);
    assert.equal(r.colour, 'green');
  });

  it('comes back after a restart still in maintenance', budget(100), async () => {
    const before = (await proxy.status()).maintenance;
    let saved: ProxySnapshot;
    ({ proxy, saved } = await restartPersisted(proxy, file, port));
    assert.deepEqual(saved.maintenance, before);
    assert.deepEqual((await proxy.status()).maintenance, before);
    const r = await hit(port, '/again', { from: OUTSIDER });
    assert.equal(r.status, 503);
    assert.ok(r.body.includes(escapeHtml(MESSAGE)));
    assert.equal((await hit(port, '/again', { from: '127.0.0.1' })).status, 200);
  });

  it('uses the default message, keeps `since` while on, and checks the message', budget(100), async () => {
    const since = (await proxy.status()).maintenance?.since;
    await proxy.setMaintenance({ on: true });
    const st = await proxy.status();
    assert.equal(st.maintenance?.message, DEFAULT_MAINTENANCE_MESSAGE);
    assert.equal(st.maintenance?.since, since);
    assert.ok((await hit(port, '/d', { from: OUTSIDER })).body.includes(escapeHtml(DEFAULT_MAINTENANCE_MESSAGE)));
    for (const bad of ['', 'x'.repeat(2001), 'two\nlines', 'bell\u0007']) {
      await assert.rejects(proxy.setMaintenance({ on: true, message: bad }), {
        code: 'PROXY_FAILED',
        message: /maintenance message/,
      });
    }
    assert.equal(
      (await proxy.status()).maintenance?.message,
      DEFAULT_MAINTENANCE_MESSAGE,
      'a refused message changes nothing',
    );
  });

  it('restores service when turned off', budget(100), async () => {
    await proxy.setMaintenance({ on: false });
    assert.equal((await proxy.status()).maintenance, null);
    assert.equal((await loadSnapshot(file))?.maintenance, null);
    const r = await hit(port, '/open', { from: OUTSIDER });
    assert.equal(r.status, 200);
    assert.equal(r.colour, 'blue');
    assert.match((await wsHello(port, '/live', { from: OUTSIDER })).hello ?? '', /^hello from blue/);
  });

  it('with an empty allowlist nobody passes, and IPv4-mapped loopback matches 127.0.0.1', budget(100), async () => {
    await proxy.configure(routes, { features: { ...features, maintenanceAllow: [] } });
    await proxy.setMaintenance({ on: true });
    assert.equal((await hit(port, '/y', { from: '127.0.0.1' })).status, 503);
    await proxy.setMaintenance({ on: false });
    await proxy.configure(routes, { features });
    // A dual-stack listener sees IPv4 clients as ::ffff:127.0.0.1.
    const dual = await ProxyServer.start({
      ...snapshot(routes, { blue: { app: [local(blue.port)] } }, 'blue'),
      listen: { host: '::', port: 0 },
      features: { ...features, preview: null },
    });
    try {
      await dual.setMaintenance({ on: true });
      assert.equal((await hit(dual.address.port, '/z', { from: '127.0.0.1' })).status, 200);
      assert.equal((await hit(dual.address.port, '/z', { from: OUTSIDER })).status, 503);
    } finally {
      await dual.close(500);
    }
  });
});
