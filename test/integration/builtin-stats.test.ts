import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ProxyServer } from '../../src/proxy/builtin/server.js';
import { loadSnapshot } from '../../src/proxy/builtin/snapshot.js';
import { diffStats, errorRate, quantileMs, type ColourStats } from '../../src/proxy/stats.js';
import { freePort, startBackend, waitFor, type TestBackend } from '../helpers/backends.js';
import { hit, many, startFlakyBackend } from '../helpers/builtin-traffic.js';
import { local, persistedProxy, restartPersisted } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';

const histogramTotal = (s: ColourStats) => s.latency.reduce((a, b) => a + b, 0);

describe('built-in proxy: traffic stats (the live watch, the dashboard)', () => {
  let flaky: Awaited<ReturnType<typeof startFlakyBackend>>;
  let green: TestBackend;
  let cleanup: () => Promise<void>;
  let file: string;
  let proxy: ProxyServer;
  let port: number;

  before(async () => {
    flaky = await startFlakyBackend('blue', 5);
    green = await startBackend('green');
    ({ proxy, port, file, cleanup } = await persistedProxy({ blue: flaky.port, green: green.port }));
  }, budget(100));
  after(async () => {
    await proxy.close(2_000);
    await flaky.close();
    await green.close();
    await cleanup();
  }, budget(100));

  it(
    'counts from the start, whether or not a deploy watches (`enabled` says whether one does)',
    budget(100),
    async () => {
      assert.equal((await proxy.status()).watching, false);
      await many(20, 5, () => hit(port, '/off'));
      const s = await proxy.stats();
      assert.equal(s.enabled, false);
      assert.equal(s.colours.blue.requests, 20);
      assert.equal(histogramTotal(s.colours.blue), 20);
    },
  );

  it('counts 5xx answers as errors: exactly 20% with every 5th request failing', budget(700), async () => {
    await proxy.setWatch(true);
    assert.equal((await proxy.status()).watching, true);
    const start = flaky.count();
    assert.equal(start % 5, 0, 'the backend starts a fresh cycle of 5');
    const before = await proxy.stats();
    const n = 500;
    const hits = await many(n, 10, () => hit(port, '/flaky'));
    assert.equal(hits.filter((h) => h.status === 500).length, n / 5);
    const s = diffStats(await proxy.stats(), before);
    assert.equal(s.enabled, true);
    const b = s.colours.blue;
    assert.equal(b.requests, n);
    assert.equal(b.errors, n / 5);
    assert.equal(b.failures, 0);
    assert.equal(errorRate(b), 0.2);
    assert.equal(histogramTotal(b), b.requests);
    assert.equal(s.colours.green.requests, 0);
  });

  it(
    'turning the watch on or off changes only `enabled`: the counts never reset and keep growing',
    budget(100),
    async () => {
      const on = await proxy.stats();
      await proxy.setWatch(true);
      assert.deepEqual(await proxy.stats(), on, 'on while on changes nothing');
      await proxy.setWatch(false);
      await many(25, 5, () => hit(port, '/off-again'));
      const off = await proxy.stats();
      assert.equal(off.enabled, false);
      assert.equal(off.colours.blue.requests, on.colours.blue.requests + 25, 'counted while off too');
      await proxy.setWatch(true);
      const again = await proxy.stats();
      assert.equal(again.enabled, true);
      assert.equal(again.colours.blue.requests, off.colours.blue.requests, 'on again keeps the counts');
      assert.equal(histogramTotal(again.colours.blue), again.colours.blue.requests);
      // The flaky backend saw 25 more requests: realign it on a multiple of 5.
      await many((5 - (flaky.count() % 5)) % 5, 1, () => hit(port, '/align'));
    },
  );

  it("counts a dead backend's 502s as failures", budget(100), async () => {
    const dead = await freePort();
    await proxy.setBackends('green', { app: [local(dead)] });
    await proxy.switchTo('green');
    const before = await proxy.stats();
    const hits = await many(20, 5, () => hit(port, '/dead'));
    assert.ok(hits.every((h) => h.status === 502 && h.colour === 'green'));
    const g = diffStats(await proxy.stats(), before).colours.green;
    assert.deepEqual([g.requests, g.errors, g.failures], [20, 20, 20]);
    assert.equal(histogramTotal(g), 20);
    await proxy.setBackends('green', { app: [local(green.port)] });
    await proxy.switchTo('blue');
  });

  it(
    'counts a client that left before any answer as a request with no error, and measures latency',
    budget(300),
    async () => {
      await proxy.switchTo('green');
      const before = await proxy.stats();
      const since = async () => diffStats(await proxy.stats(), before).colours.green;
      const arrived = green.arrived('/slow');
      const req = http.request({ host: '127.0.0.1', port, path: '/slow?ms=3000', agent: false });
      req.on('error', () => {});
      req.end();
      await arrived;
      req.destroy();
      assert.ok(await waitFor(async () => (await since()).requests === 1, 3_000));
      let g = await since();
      assert.deepEqual([g.errors, g.failures], [0, 0]);

      const slow = await hit(port, '/slow?ms=300');
      assert.equal(slow.status, 200);
      g = await since();
      assert.equal(g.requests, 2);
      assert.ok((quantileMs(g, 1) ?? 0) >= 300, `slowest bucket ${quantileMs(g, 1)} ms`);
      assert.equal(histogramTotal(g), 2);
      await proxy.switchTo('blue');
    },
  );

  it('counts a canary split into both colours; the histograms add up to the requests', budget(400), async () => {
    const before = await proxy.stats();
    await proxy.setWeight('green', 50);
    const hits = await many(200, 10, () => hit(port, '/split'));
    await proxy.setWeight('green', 0);
    const s = diffStats(await proxy.stats(), before);
    const byColour = {
      blue: hits.filter((h) => h.colour === 'blue').length,
      green: hits.filter((h) => h.colour === 'green').length,
    };
    assert.equal(s.colours.blue.requests, byColour.blue);
    assert.equal(s.colours.green.requests, byColour.green);
    assert.equal(s.colours.blue.requests + s.colours.green.requests, 200);
    for (const c of ['blue', 'green'] as const) assert.equal(histogramTotal(s.colours[c]), s.colours[c].requests);
  });

  it('persists `watching` (not the counts) across a restart', budget(100), async () => {
    assert.equal((await loadSnapshot(file))?.watching, true);
    ({ proxy } = await restartPersisted(proxy, file, port));
    assert.equal((await proxy.status()).watching, true);
    const s = await proxy.stats();
    assert.equal(s.enabled, true);
    assert.equal(s.colours.blue.requests, 0);
    await hit(port, '/after-restart');
    assert.equal((await proxy.stats()).colours.blue.requests, 1);
    await proxy.setWatch(false);
    assert.equal((await loadSnapshot(file))?.watching, false);
  });
});
