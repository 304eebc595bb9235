/**
 * Canary splits through a real nginx, switched by files only: the share of cookie-less clients,
 * stickiness by cookie and by address, growth that keeps canary clients on the canary, and weight
 * changes and switches under a keep-alive load without a failed request or a reload.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startLoad } from '../../src/load/load.js';
import { colours, generation, send, stickyCookie, trafficRig, type TrafficRig } from '../helpers/nginx-traffic.js';
import { budget } from '../helpers/budget.js';

const all = <T>(xs: T[], v: T) => xs.every((x) => x === v);

describe('nginx canary, sticky by cookie', () => {
  let r: TrafficRig;
  before(async () => {
    r = await trafficRig();
  }, budget(800));
  after(async () => r.close(), budget(300));

  it('refuses the active colour, a colour without backends and a bad percentage', budget(1_500), async () => {
    await assert.rejects(
      r.control.setWeight('blue', 10),
      (e: { code: string; message: string; hint: string }) =>
        e.code === 'PROXY_FAILED' && /active colour/.test(e.message) && /switch/.test(e.hint),
    );
    for (const bad of [100, -1, 1.5, Number.NaN])
      await assert.rejects(r.control.setWeight('green', bad), { code: 'PROXY_FAILED' });
    const other = await trafficRig();
    try {
      await other.control.setBackends('green', {});
      await assert.rejects(
        other.control.setWeight('green', 10),
        (e: { code: string; message: string }) => e.code === 'PROXY_FAILED' && /no backend for "app"/.test(e.message),
      );
      assert.equal((await other.control.status()).canary, null);
    } finally {
      await other.close();
    }
  });

  it(
    'weight 10: about 10% of 2,000 cookie-less requests go to green; the split hands out a cookie',
    budget(1_200),
    async (t) => {
      const g0 = await generation(r.p);
      const none = await send(r.p.port, '/');
      assert.equal(stickyCookie(none), undefined, 'no split: no cookie');
      await r.control.setWeight('green', 10);
      assert.deepEqual((await r.control.status()).canary, { colour: 'green', percent: 10 });
      const load = await startLoad({
        origin: `http://127.0.0.1:${r.p.port}`,
        path: '/',
        connections: 8,
        maxRequests: 2_000,
        maxMs: 30_000,
      }).done;
      const share = (load.byColour.green ?? 0) / load.sent;
      t.diagnostic(`${load.sent} requests: ${JSON.stringify(load.byColour)} (green ${(share * 100).toFixed(1)}%)`);
      assert.equal(load.failed, 0);
      assert.equal(load.sent, 2_000);
      assert.ok(Math.abs(share - 0.1) <= 0.03, `green share ${share}`);
      assert.match(
        (await send(r.p.port, '/')).headers['set-cookie']?.[0] ?? '',
        /^sy_canary=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Lax$/,
      );
      assert.deepEqual(await generation(r.p), g0, 'no reload');
    },
  );

  it(
    'one client with its cookie stays on one colour; raising 10 -> 50 keeps canary clients on the canary',
    budget(500),
    async () => {
      await r.control.setWeight('green', 10);
      // Clients get their cookie from their first answer, then send it.
      const clients: { cookie: string; first: string }[] = [];
      for (let i = 0; i < 60; i++) {
        const first = await send(r.p.port, '/');
        const cookie = stickyCookie(first)!;
        assert.ok(cookie, 'a cookie-less client gets one while a split runs');
        clients.push({ cookie, first: first.colour! });
      }
      // The first answer already used the cookie's key, so it is the client's colour from then on.
      const seen: string[] = [];
      for (const [i, c] of clients.entries()) {
        const n = i === 0 ? 50 : 5;
        const got = await colours(r.p.port, n, { headers: { cookie: `other=1; ${c.cookie}` } });
        assert.ok(all(got, c.first), `client ${i}: ${got.join(',')} after ${c.first}`);
        seen.push(c.first);
      }
      const withCookie = await send(r.p.port, '/', { headers: { cookie: clients[0]!.cookie } });
      assert.equal(withCookie.headers['set-cookie'], undefined, 'a client with the cookie gets no new one');

      await r.control.setWeight('green', 50);
      let greenAt50 = 0;
      for (const c of clients) {
        const now = (await send(r.p.port, '/', { headers: { cookie: c.cookie } })).colour;
        if (c.first === 'green') assert.equal(now, 'green', 'a canary client stays on the canary as it grows');
        if (now === 'green') greenAt50++;
      }
      const greenAt10 = seen.filter((c) => c === 'green').length;
      assert.ok(
        greenAt50 > greenAt10 && greenAt50 >= 15 && greenAt50 <= 45,
        `green clients: ${greenAt10} at 10%, ${greenAt50} at 50%`,
      );
    },
  );

  it('0 ends the split; switchTo ends it too and prunes the split folders', budget(100), async () => {
    await r.control.setWeight('green', 30);
    await r.control.setWeight('green', 0);
    assert.equal((await r.control.status()).canary, null);
    assert.ok(all(await colours(r.p.port, 30), 'blue'));
    assert.equal(stickyCookie(await send(r.p.port, '/')), undefined);

    await r.control.setWeight('green', 30);
    await r.control.switchTo('green');
    assert.equal((await r.control.status()).canary, null);
    assert.ok(all(await colours(r.p.port, 30), 'green'));
    // Only the split just ended is kept (a request may still be looking into it); older ones are gone.
    const left = (await fs.readdir(r.p.files.dir)).filter((n) => n.startsWith('split') || n.startsWith('.split'));
    assert.equal(left.length, 1, left.join(', '));
    assert.match(left[0]!, /^split\.green\.30\.[0-9a-f]+$/);
    for (let i = 0; i < 5; i++) await r.control.setWeight('blue', 10 + i);
    const later = (await fs.readdir(r.p.files.dir)).filter((n) => n.startsWith('split.'));
    assert.equal(later.length, 2, later.join(', '));
    // Now blue is the inactive colour: the canary goes the other way.
    await r.control.setWeight('blue', 20);
    assert.deepEqual((await r.control.status()).canary, { colour: 'blue', percent: 20 });
    await assert.rejects(r.control.setWeight('green', 20), { code: 'PROXY_FAILED' });
    await r.control.switchTo('blue');
    assert.equal((await r.control.status()).canary, null);
  });

  it('weight changes and switches under a keep-alive load: no failed request, no reload', budget(3_300), async (t) => {
    const g0 = await generation(r.p);
    const load = startLoad({
      origin: `http://127.0.0.1:${r.p.port}`,
      path: '/',
      connections: 16,
      maxRequests: 12_000,
      maxMs: 60_000,
    });
    const steps: [string, () => Promise<void>][] = [
      ['green 5', () => r.control.setWeight('green', 5)],
      ['green 25', () => r.control.setWeight('green', 25)],
      ['green 50', () => r.control.setWeight('green', 50)],
      ['switch green', () => r.control.switchTo('green')],
      ['blue 10', () => r.control.setWeight('blue', 10)],
      ['blue 0', () => r.control.setWeight('blue', 0)],
      ['blue 40', () => r.control.setWeight('blue', 40)],
      ['switch blue', () => r.control.switchTo('blue')],
    ];
    for (const [i, [, step]] of steps.entries()) {
      const deadline = Date.now() + 20_000;
      while (load.sent < (i + 1) * 1_000 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 2));
      await step();
    }
    const totals = await load.done;
    t.diagnostic(
      `${totals.sent} requests over ${steps.length} changes in ${totals.ms} ms: ` +
        `${JSON.stringify(totals.byColour)}, failed ${totals.failed}`,
    );
    assert.equal(totals.failed, 0, JSON.stringify(totals.errors));
    assert.ok(totals.sent >= 8_000);
    assert.deepEqual(Object.keys(totals.byColour).sort(), ['blue', 'green']);
    assert.deepEqual(await generation(r.p), g0, 'same master and workers: no reload');
  });
});

describe('nginx canary, sticky by address', () => {
  let r: TrafficRig;
  before(async () => {
    r = await trafficRig({ sticky: 'address' });
  }, budget(700));
  after(async () => r.close(), budget(300));

  it('one address, one colour; no cookie; a canary address stays as the split grows', budget(300), async () => {
    const g0 = await generation(r.p);
    await r.control.setWeight('green', 10);
    const addresses = Array.from({ length: 40 }, (_, i) => `127.0.0.${i + 2}`);
    const at10 = new Map<string, string>();
    for (const from of addresses) {
      const got = await colours(r.p.port, 5, { from });
      assert.ok(all(got, got[0]), `${from}: ${got.join(',')}`);
      at10.set(from, got[0]!);
    }
    assert.equal((await send(r.p.port, '/', { from: '127.0.0.2' })).headers['set-cookie'], undefined);
    const one = await colours(r.p.port, 50, { from: '127.0.0.1' });
    assert.ok(all(one, one[0]), 'the same address: always the same colour');

    await r.control.setWeight('green', 50);
    let green = 0;
    for (const from of addresses) {
      const now = (await send(r.p.port, '/', { from })).colour;
      if (at10.get(from) === 'green') assert.equal(now, 'green', `${from} left the canary`);
      if (now === 'green') green++;
    }
    const before10 = [...at10.values()].filter((c) => c === 'green').length;
    assert.ok(green >= before10 && green >= 8 && green <= 32, `green addresses: ${before10} at 10%, ${green} at 50%`);
    assert.deepEqual(await generation(r.p), g0, 'no reload');
  });
});

describe('nginx canary with an unusual cookie name', () => {
  let r: TrafficRig;
  before(async () => {
    r = await trafficRig({ stickyCookie: 'c$k.1' });
  }, budget(700));
  after(async () => r.close(), budget(300));

  it('a "$" in the cookie name is sent and matched literally', budget(100), async () => {
    await r.control.setWeight('green', 50);
    const first = await send(r.p.port, '/');
    const cookie = stickyCookie(first, 'c$k.1');
    assert.match(cookie ?? '', /^c\$k\.1=[0-9a-f]{32}$/);
    const got = await colours(r.p.port, 20, { headers: { cookie: cookie! } });
    assert.ok(all(got, first.colour), got.join(','));
    assert.equal((await send(r.p.port, '/', { headers: { cookie: cookie! } })).headers['set-cookie'], undefined);
    assert.notEqual(
      stickyCookie(await send(r.p.port, '/', { headers: { cookie: `ck.1=${cookie!.split('=')[1]}` } }), 'c$k.1'),
      undefined,
      'another name is not it',
    );
  });
});
