/**
 * The built-in proxy's drain with a stream grace (deploy.streamGrace, issue 15): after it, SSE
 * responses are ended cleanly, WebSockets closed with 1001, and only requests not yet answered are
 * waited for; a response being written that is not SSE is left open (counted as `long`).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { ProxyServer } from '../../src/proxy/builtin/server.js';
import { startBackend, waitFor, type TestBackend } from '../helpers/backends.js';
import { hit } from '../helpers/builtin-traffic.js';
import { persistedProxy } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';

interface Stream {
  events: string[];
  ended: Promise<'end' | 'error'>;
  colour: string | undefined;
}

/** An SSE request through the proxy: its events, and how its response ended. */
function openSse(port: number): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
      const events: string[] = [];
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        const parts = buf.split('\n\n');
        buf = parts.pop()!;
        for (const p of parts) if (p.startsWith('data: ')) events.push(p.slice(6));
      });
      const ended = new Promise<'end' | 'error'>((r) => {
        res.on('end', () => r('end'));
        res.on('error', () => r('error'));
        res.on('aborted', () => r('error'));
      });
      resolve({ events, ended, colour: res.headers['x-switchyard-env'] as string | undefined });
    });
    req.on('error', reject);
  });
}

function openWs(port: number): Promise<{ closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.once('message', () => resolve({ closed }));
    ws.once('error', reject);
  });
}

describe('built-in proxy: a drain with a stream grace', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let proxy: ProxyServer;
  let port: number;
  let cleanup: () => Promise<void>;

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    ({ proxy, port, cleanup } = await persistedProxy({ blue: blue.port, green: green.port }));
  }, budget(100));
  after(async () => {
    await proxy.close(2_000);
    await blue.close();
    await green.close();
    await cleanup();
  }, budget(100));

  it(
    'ends SSE cleanly and closes WebSockets with 1001 at the grace, waits for a slow request, leaves a download',
    budget(300),
    async () => {
      const sse = await openSse(port);
      const ws = await openWs(port);
      assert.equal(sse.colour, 'blue');
      await waitFor(() => sse.events.length >= 2, 2_000);
      const slow = hit(port, '/slow?ms=1500');
      const hold = new Promise<{ body: string; ended: boolean }>((resolve) => {
        http.get({ host: '127.0.0.1', port, path: '/hold', agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ body, ended: true }));
          res.on('aborted', () => resolve({ body, ended: false }));
        });
      });
      await waitFor(() => (blue.hits.get('/hold') ?? 0) > 0 && (blue.hits.get('/slow') ?? 0) > 0, 2_000);
      const st = await proxy.status();
      assert.equal(st.streams?.blue, 1, 'status counts the open SSE response');
      assert.equal(st.websockets.blue, 1);
      const open = (await proxy.stats()).open?.blue;
      assert.deepEqual(open, { sse: 1, websockets: 1 }, 'stats carry the open streams too');

      await proxy.switchTo('green');
      const t0 = performance.now();
      const d = await proxy.drain('blue', 10_000, { streamGraceMs: 500 });
      const took = performance.now() - t0;

      assert.equal(await sse.ended, 'end', 'the SSE response ended cleanly (EventSource reconnects)');
      assert.equal(await ws.closed, 1001);
      const s = await slow;
      assert.deepEqual([s.status, s.colour], [200, 'blue'], 'the slow request finished on the old colour');
      assert.ok(d.streams, JSON.stringify(d));
      assert.deepEqual([d.streams.sse, d.streams.websockets, d.streams.long], [1, 1, 1]);
      assert.ok(d.streams.afterMs >= 450 && d.streams.afterMs < 1_000, `grace ended after ${d.streams.afterMs} ms`);
      assert.ok(took >= 1_300 && took < 3_000, `the drain waited for the slow request only: ${Math.round(took)} ms`);
      assert.equal(d.timedOut, false);
      assert.equal(d.openAtStart?.streams, 1);
      // The download was left to finish (or to the colour's stop): it still completes.
      blue.release();
      assert.deepEqual(await hold, { body: 'first\nlast\n', ended: true });
      // A new stream goes to the live colour.
      const again = await openSse(port);
      assert.equal(again.colour, 'green');
      await proxy.switchTo('blue');
      await proxy.drain('green', 2_000, { streamGraceMs: 0 });
      assert.equal(await again.ended, 'end');
    },
  );

  it('with only a stream open, the drain takes the grace, not the timeout', budget(100), async () => {
    const sse = await openSse(port);
    assert.equal(sse.colour, 'blue');
    await proxy.switchTo('green');
    const d = await proxy.drain('blue', 10_000, { streamGraceMs: 300 });
    assert.equal(await sse.ended, 'end');
    assert.ok(d.ms >= 250 && d.ms < 1_000, `${d.ms} ms`);
    assert.deepEqual(d.streams && [d.streams.sse, d.streams.long], [1, 0]);
    assert.equal((await proxy.status()).streams?.blue, 0);
    await proxy.switchTo('blue');
  });

  it('without a grace (as before), an SSE response holds the drain to its timeout', budget(100), async () => {
    const sse = await openSse(port);
    await proxy.switchTo('green');
    const d = await proxy.drain('blue', 600);
    assert.equal(d.timedOut, true);
    assert.equal(d.inFlight, 1);
    assert.equal(d.streams, undefined);
    // Still open: the colour's stop would end it; a drain with a grace of 0 ends it now.
    const now = await proxy.drain('blue', 1_000, { streamGraceMs: 0 });
    assert.equal(now.streams?.sse, 1);
    assert.equal(await sse.ended, 'end');
    await proxy.switchTo('blue');
  });
});
