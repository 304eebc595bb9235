/**
 * Per-colour counting through a real nginx: its JSON access log, written only while watch.on
 * exists, folded into TrafficStats. Exact counts (a backend failing every 5th request), nginx's own
 * 502s as failures, a backend's 502 as an error only, maintenance 503s not counted, nothing logged
 * while off, and no reload for any of it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ProxyControl } from '../../src/proxy/types.js';
import { freePort, waitFor } from '../helpers/backends.js';
import { nginxProject, type NginxProject } from '../helpers/nginx.js';
import { generation, send } from '../helpers/nginx-traffic.js';
import { budget } from '../helpers/budget.js';

/** Every 5th request (by the backend's own count) answers 500; /e502 and /e503 answer 502 and 503 themselves. */
async function flakyBackend(): Promise<{ port: number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/e502' || req.url === '/e503') {
      res.writeHead(req.url === '/e502' ? 502 : 503, { 'content-length': '3' });
      return res.end('bad');
    }
    n++;
    res.writeHead(n % 5 === 0 ? 500 : 200, { 'content-length': '2' });
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** The longest a line takes to reach the log after its request ended, on a loaded machine (measured: under 5 ms). */
const LINE_WAIT_MS = 250;
/** How long the positive checks below wait for many lines at once. */
const FLUSH_WAIT_MS = 5_000;

describe('nginx per-colour counting', () => {
  let p: NginxProject;
  let control: ProxyControl;
  let backend: Awaited<ReturnType<typeof flakyBackend>>;

  before(async () => {
    backend = await flakyBackend();
    p = await nginxProject([{ path: '/', service: 'app' }]);
    control = (await p.driver.ensure()).control;
    await control.setBackends('blue', { app: [{ host: '127.0.0.1', port: backend.port }] });
    // Green points at a port nothing listens on: nginx answers 502 itself.
    await control.setBackends('green', { app: [{ host: '127.0.0.1', port: await freePort() }] });
    await control.switchTo('blue');
  }, budget(900));
  after(async () => {
    await p.cleanup();
    await backend.close();
  }, budget(300));

  it('off: nothing is logged and stats() says disabled', budget(1_300), async () => {
    for (let i = 0; i < 10; i++) await send(p.port, '/');
    await new Promise((r) => setTimeout(r, 1_300));
    assert.equal((await fs.stat(p.files.accessLog)).size, 0);
    const s = await control.stats();
    assert.equal(s.enabled, false);
    assert.equal(s.colours.blue.requests, 0);
    assert.equal((await control.status()).watching, false);
  });

  it('on: exactly 20% errors over 200 requests, latencies in the histogram, no reload', budget(1_200), async (t) => {
    const g0 = await generation(p);
    await control.setWatch(true);
    assert.equal((await control.status()).watching, true);
    assert.equal((await fs.stat(p.files.accessLog)).mode & 0o777, 0o600, 'owner-only log');
    for (let i = 0; i < 200; i++) await send(p.port, '/');
    assert.ok(
      await waitFor(async () => (await control.stats()).colours.blue.requests >= 200, FLUSH_WAIT_MS),
      'nginx flushed the log',
    );
    const s = await control.stats();
    t.diagnostic(`blue: ${s.colours.blue.requests} requests, ${s.colours.blue.errors} errors`);
    assert.equal(s.enabled, true);
    assert.equal(s.colours.blue.requests, 200);
    assert.equal(s.colours.blue.errors, 40);
    assert.equal(s.colours.blue.failures, 0);
    assert.equal(sum(s.colours.blue.latency), 200);
    assert.equal(s.colours.green.requests, 0);
    await control.setWatch(true); // already on: no change, no reset
    assert.equal((await control.stats()).colours.blue.requests, 200);
    assert.deepEqual(await generation(p), g0);
  });

  it(
    "nginx's own 502 (no answer) is a failure, a backend's 502 only an error; maintenance 503s are not counted",
    budget(2_300),
    async () => {
      const before = await control.stats();
      // Green has a backend address but nothing listens there.
      await control.switchTo('green');
      for (let i = 0; i < 10; i++) assert.equal((await send(p.port, '/')).status, 502);
      await control.switchTo('blue');
      for (let i = 0; i < 5; i++) assert.equal((await send(p.port, '/e502')).status, 502);
      const own503 = await send(p.port, '/e503');
      assert.deepEqual(
        [own503.status, own503.body, own503.headers['retry-after']],
        [503, 'bad', undefined],
        "a backend's 503 passes untouched (not the maintenance page)",
      );
      await control.setMaintenance({ on: true });
      for (let i = 0; i < 7; i++) assert.equal((await send(p.port, '/', { from: '127.0.0.2' })).status, 503);
      await control.setMaintenance({ on: false });
      assert.ok(
        await waitFor(
          async () =>
            (await control.stats()).colours.green.requests >= 10 &&
            (await control.stats()).colours.blue.requests >= before.colours.blue.requests + 6,
          FLUSH_WAIT_MS,
        ),
      );
      // a line is written when its request ends: anything else would be there by now
      await new Promise((r) => setTimeout(r, 1_300));
      const s = await control.stats();
      assert.deepEqual([s.colours.green.requests, s.colours.green.errors, s.colours.green.failures], [10, 10, 10]);
      assert.deepEqual(
        [
          s.colours.blue.requests - before.colours.blue.requests,
          s.colours.blue.errors - before.colours.blue.errors,
          s.colours.blue.failures,
        ],
        [6, 6, 0],
      );
    },
  );

  it(
    'a fresh reader (another process) sees the same figures; off keeps them, stops logging; on starts from zero',
    budget(2_500),
    async () => {
      const mine = await control.stats();
      const fresh = await (await p.driver.ensure()).control.stats();
      assert.deepEqual(fresh, mine);
      const g0 = await generation(p);
      await control.setWatch(false);
      assert.equal((await control.status()).watching, false);
      const size = (await fs.stat(p.files.accessLog)).size;
      for (let i = 0; i < 20; i++) await send(p.port, '/');
      await new Promise((r) => setTimeout(r, 1_300));
      assert.equal((await fs.stat(p.files.accessLog)).size, size, 'nothing logged while off');
      const off = await control.stats();
      assert.equal(off.enabled, false);
      assert.deepEqual(off.colours, mine.colours, 'the last figures stay readable');

      await control.setWatch(true);
      assert.equal((await control.stats()).colours.blue.requests, 0, 'from zero');
      for (let i = 0; i < 25; i++) await send(p.port, '/');
      assert.ok(await waitFor(async () => (await control.stats()).colours.blue.requests >= 25, FLUSH_WAIT_MS));
      const again = await control.stats();
      assert.equal(again.colours.blue.requests, 25);
      assert.equal(again.colours.blue.errors, 5);
      assert.equal(again.colours.green.requests, 0);
      await control.setWatch(false);
      assert.deepEqual(await generation(p), g0, 'watch on/off never reloads');
    },
  );

  // not yet measured: estimate
  it(
    'each request is in the log as soon as it ended, in the order requests ended (no per-worker batches)',
    budget(3_000),
    async () => {
      // A verdict judges what has been counted so far: with each worker buffering its own lines
      // (flushed every second), it saw one worker's requests before another's, a second late.
      await control.setWatch(true);
      try {
        for (let i = 1; i <= 30; i++) {
          await send(p.port, '/');
          // Written in nginx's log phase, right after the response: well within 250 ms (the watch's poll).
          assert.ok(
            await waitFor(async () => (await control.stats()).colours.blue.requests >= i, LINE_WAIT_MS),
            `request ${i} not counted within ${LINE_WAIT_MS} ms of its answer`,
          );
        }
        assert.equal((await control.stats()).colours.blue.requests, 30);
      } finally {
        await control.setWatch(false);
      }
    },
  );
});
