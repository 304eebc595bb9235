import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { WebSocket } from 'ws';
import type { Colour } from '../../src/config/schema.js';
import { get, startBackend, waitFor, type TestBackend } from '../helpers/backends.js';
import { local, snapshot, startProxy } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';

const routes = [{ path: '/', service: 'app' }];

describe('switching and draining', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let p: Awaited<ReturnType<typeof startProxy>>;

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    p = await startProxy(
      snapshot(routes, { blue: { app: [local(blue.port)] }, green: { app: [local(green.port)] } }, 'blue'),
    );
  }, budget(100));
  after(async () => {
    await p.stop();
    await blue.close();
    await green.close();
  }, budget(100));

  it(
    'drops no request across 5 switches under keep-alive load, and new requests see the new colour',
    budget(2_000),
    async () => {
      await p.proxy.switchTo('blue');
      const total = 3_000;
      const client = new Pool(`http://127.0.0.1:${p.port}`, { connections: 20, pipelining: 1 });
      // `phase` goes up when a switch starts and again when it has returned: even means settled.
      // A request that starts and ends within one settled phase must come from that phase's colour;
      // one that overlaps a switch may legitimately get either colour (the proxy picks on arrival).
      let expected: Colour = 'blue';
      let phase = 0;
      let started = 0;
      let completed = 0;
      let checked = 0;
      const failures: string[] = [];
      const seen = { blue: 0, green: 0 };
      const worker = async () => {
        while (started < total) {
          started++;
          const atStart = phase;
          const want = expected;
          const r = await client.request({ path: '/load', method: 'GET' });
          const body = await r.body.text();
          const env = r.headers['x-switchyard-env'] as Colour;
          if (r.statusCode !== 200) failures.push(`status ${r.statusCode}: ${body}`);
          else if (atStart % 2 === 0 && phase === atStart) {
            checked++;
            if (env !== want)
              failures.push(`started and ended while ${want} was active (phase ${atStart}) but answered by ${env}`);
          }
          seen[env]++;
          completed++;
        }
      };
      const switcher = async () => {
        for (let i = 1; i <= 5; i++) {
          const deadline = Date.now() + 20_000;
          while (completed < i * 450 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
          const next: Colour = expected === 'blue' ? 'green' : 'blue';
          phase++;
          await p.proxy.switchTo(next);
          expected = next;
          phase++;
        }
      };
      const t0 = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.all([...Array.from({ length: 20 }, worker), switcher()]),
          new Promise(
            (_, reject) => (timer = setTimeout(() => reject(new Error('load did not finish in 40 s')), 40_000)),
          ),
        ]);
      } finally {
        clearTimeout(timer);
        await client.close();
      }
      assert.deepEqual(failures, []);
      assert.equal(completed, total);
      assert.ok(seen.blue > 0 && seen.green > 0, `both colours answered: ${JSON.stringify(seen)}`);
      assert.equal(expected, 'green');
      assert.equal(phase, 10, 'all 5 switches happened during the load');
      assert.ok(checked > total * 0.8, `only ${checked} requests were checked against their colour`);
      assert.ok(Date.now() - t0 < 40_000);
    },
  );

  it('lets a long request started before a switch finish on the old colour', budget(2_000), async () => {
    await p.proxy.switchTo('blue');
    const arrived = blue.arrived('/slow');
    const slow = get(p.port, '/slow?ms=2000');
    await arrived;
    await p.proxy.switchTo('green');
    const after = await get(p.port, '/after');
    assert.equal(after.headers['x-switchyard-env'], 'green');
    const r = await slow;
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-switchyard-env'], 'blue');
    assert.equal(JSON.parse(r.body).colour, 'blue');
  });

  it('drain waits for in-flight requests to the old colour', budget(600), async () => {
    await p.proxy.switchTo('blue');
    const arrived = blue.arrived('/slow');
    const slow = get(p.port, '/slow?ms=600');
    await arrived;
    await p.proxy.switchTo('green');
    assert.equal((await p.proxy.status()).inFlight.blue, 1);
    const d = await p.proxy.drain('blue', 5_000);
    assert.equal(d.timedOut, false);
    assert.equal(d.inFlight, 0);
    assert.ok(d.ms >= 300, `drain returned after ${d.ms} ms, before the request ended`);
    assert.ok(d.ms < 3_000);
    assert.equal((await slow).status, 200);
  });

  it('drain gives up at its timeout and reports what is still open', budget(1_500), async () => {
    await p.proxy.switchTo('blue');
    const arrived = blue.arrived('/slow');
    const slow = get(p.port, '/slow?ms=1500');
    await arrived;
    await p.proxy.switchTo('green');
    const d = await p.proxy.drain('blue', 200);
    assert.equal(d.timedOut, true);
    assert.equal(d.inFlight, 1);
    assert.ok(d.ms >= 150 && d.ms < 1_000, `${d.ms} ms`);
    // Closing the drained colour's pool is graceful: the running request still completes.
    assert.equal((await slow).status, 200);
  });

  it('drain ends at once when nothing is open, and refuses the active colour', budget(100), async () => {
    await p.proxy.switchTo('green');
    const d = await p.proxy.drain('blue', 5_000);
    assert.equal(d.timedOut, false);
    assert.equal(d.websocketsClosed, 0);
    assert.ok(d.ms < 200, `${d.ms} ms`);
    await assert.rejects(p.proxy.drain('green', 100), { code: 'PROXY_FAILED', message: /active/ });
  });

  it('drain closes the idle pooled connections to the drained colour at once', budget(100), async () => {
    await p.proxy.switchTo('blue');
    await Promise.all(Array.from({ length: 5 }, () => get(p.port, '/warm')));
    assert.ok((await blue.connections()) > 0, 'the proxy keeps pooled connections to blue');
    await p.proxy.switchTo('green');
    await p.proxy.drain('blue', 1_000);
    // Well under the 4 s idle timeout of the pool: these close because of the drain.
    assert.ok(
      await waitFor(async () => (await blue.connections()) === 0, 1_000),
      `blue still has ${await blue.connections()} connections`,
    );
    // Traffic can come back to blue later: a new pool is made on demand.
    await p.proxy.switchTo('blue');
    assert.equal((await get(p.port, '/back')).headers['x-switchyard-env'], 'blue');
  });

  it("closes the drained colour's WebSockets with 1001 on both sides", budget(100), async () => {
    await p.proxy.switchTo('blue');
    const ws = new WebSocket(`ws://127.0.0.1:${p.port}/live`);
    const hello = await new Promise<string>((resolve, reject) => {
      ws.once('message', (d) => resolve(d.toString()));
      ws.once('error', reject);
    });
    assert.match(hello, /^hello from blue/);
    assert.equal((await p.proxy.status()).websockets.blue, 1);
    await p.proxy.switchTo('green');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const d = await p.proxy.drain('blue', 1_000);
    assert.equal(d.websocketsClosed, 1);
    assert.equal(await closed, 1001);
    assert.ok(await waitFor(() => blue.closeCodes.length > 0));
    assert.deepEqual(blue.closeCodes, [1001]);
    assert.equal((await p.proxy.status()).websockets.blue, 0);
  });

  it('refuses to switch to a colour without backends for every route', budget(100), async () => {
    const lone = await startProxy(snapshot(routes, { blue: { app: [local(blue.port)] } }, 'blue'));
    try {
      await assert.rejects(lone.proxy.switchTo('green'), { code: 'PROXY_FAILED', message: /no backend for "app"/ });
      assert.equal((await lone.proxy.status()).active, 'blue');
    } finally {
      await lone.stop();
    }
  });
});

describe('a drain you can see', () => {
  it(
    'waits for a 3 s request, closes an open WebSocket with 1001, reports both, and ends as soon as nothing is left',
    budget(3_000),
    async () => {
      const blue = await startBackend('blue');
      const green = await startBackend('green');
      const p = await startProxy(
        snapshot(routes, { blue: { app: [local(blue.port)] }, green: { app: [local(green.port)] } }, 'blue'),
      );
      try {
        const ws = new WebSocket(`ws://127.0.0.1:${p.port}/live`);
        await new Promise<void>((resolve, reject) => (ws.once('message', () => resolve()), ws.once('error', reject)));
        const arrived = blue.arrived('/slow');
        const slow = get(p.port, '/slow?ms=3000');
        await arrived;
        await p.proxy.switchTo('green');
        const seen = await p.proxy.status();
        assert.deepEqual([seen.inFlight.blue, seen.websockets.blue], [1, 1], 'status shows what is still open on blue');
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        const d = await p.proxy.drain('blue', 10_000);
        assert.deepEqual(d.openAtStart, { requests: 1, websockets: 1, streams: 0 });
        assert.equal(d.timedOut, false);
        assert.ok(d.ms >= 2_500 && d.ms < 6_000, `drain took ${d.ms} ms for a 3 s request (timeout 10 s)`);
        assert.equal(d.websocketsClosed, 1);
        assert.equal((await slow).status, 200);
        assert.equal(await closed, 1001);
        const empty = await p.proxy.drain('blue', 10_000);
        assert.ok(empty.ms < 200, `an empty drain took ${empty.ms} ms`);
        assert.deepEqual(empty.openAtStart, { requests: 0, websockets: 0, streams: 0 });
      } finally {
        await p.stop();
        await blue.close();
        await green.close();
      }
    },
  );
});
