/**
 * Maintenance mode through a real nginx, by files only: a client outside the allowlist (127.0.0.2)
 * gets 503, Retry-After and the page, whatever the method; the allowlisted 127.0.0.1 reaches the
 * app; off restores everyone; nothing reloads.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startLoad } from '../../src/load/load.js';
import { DEFAULT_MAINTENANCE_MESSAGE } from '../../src/proxy/maintenance-page.js';
import { generation, send, trafficRig, type TrafficRig } from '../helpers/nginx-traffic.js';
import { budget } from '../helpers/budget.js';

const OUTSIDE = '127.0.0.2';

describe('nginx maintenance mode', () => {
  let r: TrafficRig;
  before(async () => {
    r = await trafficRig({ maintenance: { allow: ['127.0.0.1', '10.0.0.0/8'], retryAfter: '2m' } });
  }, budget(600));
  after(async () => r.close(), budget(300));

  it(
    'on: 503 with Retry-After and the page outside the allowlist, the app inside; off restores; no reload',
    budget(100),
    async () => {
      const g0 = await generation(r.p);
      const message = 'Back at 5 <b>pm</b> & "soon"';
      await r.control.setMaintenance({ on: true, message });
      const st = await r.control.status();
      assert.equal(st.maintenance?.message, message);
      assert.ok(Math.abs(Date.parse(st.maintenance!.since) - Date.now()) < 10_000);

      const blocked = await send(r.p.port, '/anything?x=1', { from: OUTSIDE });
      assert.equal(blocked.status, 503);
      assert.equal(blocked.headers['retry-after'], '120');
      assert.equal(blocked.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(blocked.headers['cache-control'], 'no-store');
      assert.equal(blocked.headers['x-switchyard-env'], undefined, 'no colour answered');
      assert.match(blocked.body, /<p>Back at 5 &lt;b&gt;pm&lt;\/b&gt; &amp; &quot;soon&quot;<\/p>/);
      assert.equal(r.blue.hits.get('/anything'), undefined, 'never reached the app');
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const m = await send(r.p.port, '/form', {
          method,
          from: OUTSIDE,
          body: 'a=1',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        assert.equal(m.status, 503, method);
        assert.match(m.body, /Back at 5/, method);
      }
      const head = await send(r.p.port, '/', { method: 'HEAD', from: OUTSIDE });
      assert.equal(head.status, 503);
      const ranged = await send(r.p.port, '/', {
        from: OUTSIDE,
        headers: { range: 'bytes=0-3', 'if-none-match': '*' },
      });
      assert.equal(ranged.status, 503, 'never 206 or 304 for the page');
      assert.match(ranged.body, /<!doctype html>/);
      assert.equal((await send(r.p.port, '/.switchyard/maintenance', { from: OUTSIDE })).status, 503);

      const inside = await send(r.p.port, '/in');
      assert.equal(inside.status, 200);
      assert.equal(inside.colour, 'blue');
      assert.equal(JSON.parse(inside.body).colour, 'blue');
      assert.equal((await send(r.p.port, '/.switchyard/maintenance')).status, 404, 'the page is internal');

      await r.control.setMaintenance({ on: false });
      assert.equal((await r.control.status()).maintenance, null);
      const back = await send(r.p.port, '/', { from: OUTSIDE });
      assert.equal(back.status, 200);
      assert.equal(back.colour, 'blue');
      assert.deepEqual(await generation(r.p), g0, 'same master and workers: no reload');
    },
  );

  it(
    'default message; a new message keeps `since`; a bad message is refused; owner-only flag',
    budget(100),
    async () => {
      await r.control.setMaintenance({ on: true });
      const first = (await r.control.status()).maintenance!;
      assert.equal(first.message, DEFAULT_MAINTENANCE_MESSAGE);
      assert.match((await send(r.p.port, '/', { from: OUTSIDE })).body, /down for maintenance/);
      await new Promise((res) => setTimeout(res, 20));
      await r.control.setMaintenance({ on: true, message: 'Upgrading the database' });
      const second = (await r.control.status()).maintenance!;
      assert.equal(second.since, first.since);
      assert.match((await send(r.p.port, '/', { from: OUTSIDE })).body, /Upgrading the database/);
      await assert.rejects(r.control.setMaintenance({ on: true, message: 'two\nlines' }), { code: 'PROXY_FAILED' });
      await assert.rejects(r.control.setMaintenance({ on: true, message: '' }), { code: 'PROXY_FAILED' });
      assert.equal((await fs.stat(r.p.files.maintenanceFlag)).mode & 0o777, 0o600);
      await r.control.setMaintenance({ on: false });
      await r.control.setMaintenance({ on: false });
    },
  );

  it(
    'toggled under an allowlisted keep-alive load: no request fails, the load never notices',
    budget(1_600),
    async (t) => {
      const g0 = await generation(r.p);
      const load = startLoad({
        origin: `http://127.0.0.1:${r.p.port}`,
        path: '/',
        connections: 8,
        maxRequests: 4_000,
        maxMs: 30_000,
      });
      for (let i = 0; i < 6; i++) {
        while (load.sent < (i + 1) * 500) await new Promise((res) => setTimeout(res, 2));
        await r.control.setMaintenance(i % 2 === 0 ? { on: true } : { on: false });
      }
      const totals = await load.done;
      t.diagnostic(`${totals.sent} requests, ${totals.failed} failed`);
      assert.equal(totals.failed, 0, JSON.stringify(totals.errors));
      assert.deepEqual(await generation(r.p), g0);
    },
  );
});
