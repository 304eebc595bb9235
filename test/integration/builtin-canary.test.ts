import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startLoad } from '../../src/load/load.js';
import { ProxyServer } from '../../src/proxy/builtin/server.js';
import { loadSnapshot, type ProxySnapshot } from '../../src/proxy/builtin/snapshot.js';
import { inCanary } from '../../src/proxy/builtin/sticky.js';
import { NO_FEATURES } from '../../src/proxy/features.js';
import { startBackend, type TestBackend } from '../helpers/backends.js';
import { local, persistedProxy, restartPersisted, snapshot } from '../helpers/proxy.js';
import { cookieValue, hit, many, wsHello } from '../helpers/builtin-traffic.js';
import { budget } from '../helpers/budget.js';

const routes = [{ path: '/', service: 'app' }];

describe('built-in proxy: canary split', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let cleanup: () => Promise<void>;
  let file: string;
  let proxy: ProxyServer;
  let port: number;

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    ({ proxy, port, file, cleanup } = await persistedProxy({ blue: blue.port, green: green.port }));
  }, budget(100));
  after(async () => {
    await proxy.close(2_000);
    await blue.close();
    await green.close();
    await cleanup();
  }, budget(100));

  it('sends about 10% of new clients to the canary, each told its sticky cookie', budget(1_800), async () => {
    await proxy.setWeight('green', 10);
    assert.deepEqual((await proxy.status()).canary, { colour: 'green', percent: 10 });
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 20 });
    try {
      const hits = await many(2_000, 20, () => hit(port, '/split', { agent }));
      const green = hits.filter((h) => h.colour === 'green').length;
      assert.ok(hits.every((h) => h.status === 200));
      assert.ok(green >= 140 && green <= 260, `${green} of 2000 on the canary, expected 10±3%`);
      for (const h of hits) {
        const id = cookieValue(h.setCookie);
        assert.ok(id, `no sticky cookie in ${JSON.stringify(h.headers)}`);
        assert.match(h.setCookie!, /^sy_canary=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
        assert.equal(h.colour, inCanary(id, 10) ? 'green' : 'blue', 'the colour is the one the cookie stands for');
        assert.equal(JSON.parse(h.body).colour, h.colour, 'X-Switchyard-Env names the colour that answered');
      }
    } finally {
      agent.destroy();
    }
  });

  it('keeps one client that sends its cookie back on one colour, without setting it again', budget(100), async () => {
    await proxy.setWeight('green', 10);
    const first = await hit(port, '/me');
    const id = cookieValue(first.setCookie)!;
    const hits = await many(50, 5, () => hit(port, '/me', { headers: { cookie: `other=1; sy_canary=${id}; x=y` } }));
    assert.deepEqual(new Set(hits.map((h) => h.colour)), new Set([first.colour]));
    assert.ok(hits.every((h) => h.setCookie === undefined));
    // A cookie in the split and one outside it, found by their buckets.
    const inside = Array.from({ length: 500 }, () => randomUUID()).find((k) => inCanary(k, 10))!;
    assert.equal((await hit(port, '/in', { headers: { cookie: `sy_canary=${inside}` } })).colour, 'green');
    const outside = Array.from({ length: 500 }, () => randomUUID()).find((k) => !inCanary(k, 10))!;
    assert.equal((await hit(port, '/out', { headers: { cookie: `sy_canary=${outside}` } })).colour, 'blue');
  });

  it('keeps every client that was on the canary at 10% on it at 50%', budget(600), async () => {
    await proxy.setWeight('green', 10);
    const clients = (await many(300, 20, () => hit(port, '/join'))).map((h) => ({
      id: cookieValue(h.setCookie)!,
      colour: h.colour,
    }));
    const onCanary = clients.filter((c) => c.colour === 'green');
    assert.ok(onCanary.length > 0);
    await proxy.setWeight('green', 50);
    const later = await many(clients.length, 20, (i) =>
      hit(port, '/again', { headers: { cookie: `sy_canary=${clients[i]!.id}` } }),
    );
    for (let i = 0; i < clients.length; i++) {
      if (clients[i]!.colour === 'green')
        assert.equal(later[i]!.colour, 'green', `client ${clients[i]!.id} left the canary at 50%`);
    }
    const greenLater = later.filter((h) => h.colour === 'green').length;
    assert.ok(
      greenLater > onCanary.length,
      `more clients on the canary at 50% (${greenLater}) than at 10% (${onCanary.length})`,
    );
  });

  it('sends WebSocket upgrades by the same split, and sets the cookie on the 101', budget(100), async () => {
    await proxy.setWeight('green', 30);
    const inside = Array.from({ length: 500 }, () => randomUUID()).find((k) => inCanary(k, 30))!;
    const outside = Array.from({ length: 500 }, () => randomUUID()).find((k) => !inCanary(k, 30))!;
    assert.match(
      (await wsHello(port, '/ws', { headers: { cookie: `sy_canary=${inside}` } })).hello ?? '',
      /^hello from green/,
    );
    assert.match(
      (await wsHello(port, '/ws', { headers: { cookie: `sy_canary=${outside}` } })).hello ?? '',
      /^hello from blue/,
    );
    const fresh = await wsHello(port, '/ws');
    const id = cookieValue(fresh.setCookie);
    assert.ok(id, 'a new client gets its sticky cookie with the upgrade');
    assert.match(fresh.hello ?? '', new RegExp(`^hello from ${inCanary(id, 30) ? 'green' : 'blue'}`));
  });

  it('refuses the active colour, 100, fractions, and a colour without backends', budget(100), async () => {
    await assert.rejects(proxy.setWeight('blue', 10), (e: Error & { code?: string; hint?: string }) => {
      assert.equal(e.code, 'PROXY_FAILED');
      assert.match(e.message, /active colour/);
      assert.match(e.hint ?? '', /switch/);
      return true;
    });
    await assert.rejects(proxy.setWeight('green', 100), { code: 'PROXY_FAILED', message: /0\.\.99/ });
    await assert.rejects(proxy.setWeight('green', 12.5), { code: 'PROXY_FAILED', message: /percent/ });
    await assert.rejects(proxy.setWeight('purple' as never, 10), { code: 'PROXY_FAILED', message: /colour/ });
    const lone = await ProxyServer.start(snapshot(routes, { blue: { app: [local(blue.port)] } }, 'blue'));
    try {
      await assert.rejects(lone.setWeight('green', 10), { code: 'PROXY_FAILED', message: /no backend for "app"/ });
      assert.equal((await lone.status()).canary, null);
    } finally {
      await lone.close(500);
    }
    const idle = await ProxyServer.start(snapshot(routes, { blue: { app: [local(blue.port)] } }, null));
    try {
      await assert.rejects(idle.setWeight('blue', 10), { code: 'PROXY_FAILED', message: /no colour is active/ });
    } finally {
      await idle.close(500);
    }
  });

  it('ends the split with weight 0 and with a switch (no cookie set any more)', budget(100), async () => {
    await proxy.setWeight('green', 50);
    await proxy.setWeight('green', 0);
    assert.equal((await proxy.status()).canary, null);
    const hits = await many(40, 10, () => hit(port, '/after-zero'));
    assert.ok(hits.every((h) => h.colour === 'blue' && h.setCookie === undefined));

    await proxy.setWeight('green', 50);
    await proxy.switchTo('green');
    assert.equal((await proxy.status()).canary, null);
    assert.equal((await loadSnapshot(file))?.canary, null, 'persisted');
    const after = await many(40, 10, () => hit(port, '/after-switch'));
    assert.ok(after.every((h) => h.colour === 'green' && h.setCookie === undefined));
    await proxy.switchTo('blue');
  });

  it('refuses to drain the canary colour while the split is on', budget(100), async () => {
    await proxy.setWeight('green', 20);
    await assert.rejects(proxy.drain('green', 100), { code: 'PROXY_FAILED', message: /canary/ });
    await proxy.setWeight('green', 0);
    assert.equal((await proxy.drain('green', 100)).timedOut, false);
  });

  it('address mode: one address, one colour; each address where its hash says; no cookie', budget(100), async () => {
    await proxy.configure(routes, { features: { ...NO_FEATURES, sticky: 'address' } });
    await proxy.setWeight('green', 50);
    const hits = await many(30, 5, () => hit(port, '/addr', { from: '127.0.0.1' }));
    assert.equal(new Set(hits.map((h) => h.colour)).size, 1);
    assert.equal(hits[0]!.colour, inCanary('127.0.0.1', 50) ? 'green' : 'blue');
    assert.ok(hits.every((h) => h.setCookie === undefined));
    const seen = new Set<string>();
    for (let i = 2; i < 20; i++) {
      const addr = `127.0.0.${i}`;
      const a = await hit(port, '/addr', { from: addr });
      const b = await hit(port, '/addr', { from: addr, headers: { cookie: 'sy_canary=whatever' } });
      assert.equal(a.colour, inCanary(addr, 50) ? 'green' : 'blue', addr);
      assert.equal(b.colour, a.colour, 'cookies play no part in address mode');
      seen.add(a.colour!);
    }
    assert.equal(seen.size, 2, 'both colours served some address');
    await proxy.setWeight('green', 0);
    await proxy.configure(routes, { features: NO_FEATURES });
  });

  it(
    'fails no request under keep-alive load while the weight changes and traffic switches',
    budget(2_000),
    async () => {
      await proxy.switchTo('blue');
      const load = startLoad({
        origin: `http://127.0.0.1:${port}`,
        path: '/load',
        connections: 16,
        maxRequests: 6_000,
        maxMs: 30_000,
      });
      const steps: Array<() => Promise<void>> = [
        () => proxy.setWeight('green', 10),
        () => proxy.setWeight('green', 50),
        () => proxy.setWeight('green', 0),
        () => proxy.setWeight('green', 90),
        () => proxy.switchTo('green'),
        () => proxy.setWeight('blue', 25),
        () => proxy.switchTo('blue'),
      ];
      for (const step of steps) {
        const target = load.sent + 500;
        const deadline = Date.now() + 10_000;
        while (load.sent < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        await step();
      }
      const totals = await load.done;
      assert.equal(totals.failed, 0, JSON.stringify(totals.errors));
      assert.ok(totals.sent >= 3_500, `only ${totals.sent} requests were sent`);
      assert.ok((totals.byColour.blue ?? 0) > 0 && (totals.byColour.green ?? 0) > 0, JSON.stringify(totals.byColour));
    },
  );

  it('comes back after a restart with the same split, from the persisted snapshot', budget(100), async () => {
    await proxy.switchTo('blue');
    await proxy.configure(routes, { features: { ...NO_FEATURES, stickyCookie: 'sy_c2' } });
    await proxy.setWeight('green', 35);
    const inside = Array.from({ length: 500 }, () => randomUUID()).find((k) => inCanary(k, 35))!;
    let saved: ProxySnapshot;
    ({ proxy, saved } = await restartPersisted(proxy, file, port));
    assert.deepEqual(saved.canary, { colour: 'green', percent: 35 });
    const st = await proxy.status();
    assert.deepEqual(st.canary, { colour: 'green', percent: 35 });
    assert.equal(st.features.stickyCookie, 'sy_c2');
    assert.equal((await hit(port, '/back', { headers: { cookie: `sy_c2=${inside}` } })).colour, 'green');
    const fresh = await hit(port, '/back');
    assert.match(fresh.setCookie ?? '', /^sy_c2=/);
  });
});
