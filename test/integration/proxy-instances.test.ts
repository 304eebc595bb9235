/**
 * The built-in proxy with several instances per service: requests balanced round robin, an
 * instance that refuses connections skipped (and its refused requests retried on another one),
 * used again once it is back. Real node:http backends on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startLoad } from '../../src/load/load.js';
import { DOWN_MS } from '../../src/proxy/builtin/balance.js';
import { freePort, get, startBackend, startResettingBackend, waitFor } from '../helpers/backends.js';
import { wsHello } from '../helpers/builtin-traffic.js';
import { budget } from '../helpers/budget.js';
import { local, snapshot, startProxy } from '../helpers/proxy.js';

const routes = [{ path: '/', service: 'app' }];

/** A backend that answers every request with its instance name; it can be stopped and started on its port. */
interface Instance {
  name: string;
  port: number;
  hits: number;
  start(): Promise<void>;
  /** Refuses connections from then on: the listener and every open connection are closed. */
  stop(): Promise<void>;
}

async function instance(name: string): Promise<Instance> {
  let server: http.Server | undefined;
  const inst: Instance = {
    name,
    port: 0,
    hits: 0,
    start: async () => {
      const s = http.createServer((req, res) => {
        inst.hits++;
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'text/plain', 'x-instance': name });
          res.end(name);
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(inst.port, '127.0.0.1', () => resolve());
      });
      inst.port = (s.address() as AddressInfo).port;
      server = s;
    },
    stop: async () => {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      const closed = new Promise<void>((r) => s.close(() => r()));
      s.closeAllConnections();
      await closed;
    },
  };
  await inst.start();
  return inst;
}

describe('built-in proxy: several instances of a service', () => {
  let one: Instance;
  let two: Instance;
  let p: Awaited<ReturnType<typeof startProxy>>;

  before(async () => {
    one = await instance('one');
    two = await instance('two');
    p = await startProxy(snapshot(routes, { blue: { app: [local(one.port), local(two.port)] } }, 'blue'));
  }, budget(100));
  after(async () => {
    await p.stop();
    await one.stop();
    await two.stop();
  }, budget(100));

  it('reports the backends as lists of instances', budget(100), async () => {
    const s = await p.proxy.status();
    assert.deepEqual(s.backends.blue, { app: [local(one.port), local(two.port)] });
  });

  it('balances requests across both instances', budget(500), async () => {
    const h1 = one.hits;
    const h2 = two.hits;
    const t = await startLoad({ origin: `http://127.0.0.1:${p.port}`, path: '/x', maxRequests: 200, maxMs: 20_000 })
      .done;
    assert.equal(t.failed, 0, JSON.stringify(t.errors));
    assert.equal(t.sent, 200);
    assert.equal(t.byColour.blue, 200);
    const got = [one.hits - h1, two.hits - h2];
    assert.equal(got[0]! + got[1]!, 200);
    for (const n of got) assert.ok(n >= 90 && n <= 110, `an unfair share: ${got.join(' / ')}`);
  });

  it('sends everything to instance 1 while instance 2 refuses connections, GET and POST', budget(2_000), async () => {
    await two.stop();
    const h1 = one.hits;
    for (const method of ['GET', 'POST']) {
      const t = await startLoad({
        origin: `http://127.0.0.1:${p.port}`,
        path: `/during-${method}`,
        method,
        connections: 8,
        maxRequests: 500,
        maxMs: 30_000,
      }).done;
      assert.equal(t.sent, 500, `${method}: all sent`);
      assert.equal(t.failed, 0, `${method}: ${JSON.stringify(t.errors)}`);
      assert.equal(t.byColour.blue, 500, `${method}: the colour is unchanged by a retry`);
    }
    assert.equal(one.hits - h1, 1_000, 'every request answered by instance 1');
    const r = await get(p.port, '/one-more');
    assert.equal(r.body, 'one');
  });

  it('uses instance 2 again soon after it is back on its port', budget(2_000), async () => {
    await two.start();
    const h2 = two.hits;
    let failed = 0;
    const back = await waitFor(async () => {
      const r = await get(p.port, '/back');
      if (r.status !== 200) failed++;
      return two.hits > h2;
    }, DOWN_MS + 4_000);
    assert.ok(back, 'instance 2 got no request after it came back');
    assert.equal(failed, 0);
    // And balancing resumes: a short sequence reaches both.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await get(p.port, '/again')).body);
    assert.deepEqual([...seen].sort(), ['one', 'two']);
  });

  it('answers 502 when both instances refuse connections', budget(500), async () => {
    await one.stop();
    await two.stop();
    try {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const r = await get(p.port, '/down', { method });
        assert.equal(r.status, 502, method);
        assert.equal(r.headers['x-switchyard-env'], 'blue');
      }
    } finally {
      await one.start();
      await two.start();
    }
  });
});

describe('built-in proxy: retries with several instances', () => {
  it('retries a GET whose pooled connection was reset on the other instance', budget(500), async () => {
    const flaky = await startResettingBackend();
    const good = await instance('good');
    const p = await startProxy(snapshot(routes, { blue: { app: [local(flaky.port), local(good.port)] } }, 'blue'));
    try {
      assert.equal((await get(p.port, '/1')).body, 'ok', 'round robin: instance 1 first');
      assert.equal((await get(p.port, '/2')).body, 'good');
      // Instance 1 again, on its pooled connection, which it resets: retried on instance 2.
      const r = await get(p.port, '/3');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'good');
      assert.equal(r.headers['x-switchyard-env'], 'blue');
      assert.equal(flaky.connections(), 1, 'the retry did not go back to instance 1');
    } finally {
      await p.stop();
      await flaky.close();
      await good.stop();
    }
  });

  it('does not retry a request with a body when an instance refuses', budget(500), async () => {
    const dead = await freePort();
    const good = await instance('good');
    const p = await startProxy(snapshot(routes, { blue: { app: [local(dead), local(good.port)] } }, 'blue'));
    try {
      const r = await get(p.port, '/x', { method: 'POST', body: 'abc' });
      assert.equal(r.status, 502, 'instance 1 (refusing) is first; a body is not sent twice');
      // The refusal marked instance 1 down: the next requests skip it.
      for (let i = 0; i < 3; i++) assert.equal((await get(p.port, '/y', { method: 'POST', body: 'abc' })).body, 'good');
    } finally {
      await p.stop();
      await good.stop();
    }
  });

  it('connects a WebSocket to another instance when the one picked refuses', budget(500), async () => {
    const dead = await freePort();
    const live = await startBackend('live');
    const p = await startProxy(snapshot(routes, { blue: { app: [local(dead), local(live.port)] } }, 'blue'));
    try {
      for (let i = 0; i < 4; i++) {
        const r = await wsHello(p.port, `/ws${i}`);
        assert.match(r.hello ?? `status ${r.status}`, new RegExp(`^hello from live /ws${i}`));
      }
      await live.close();
      const r = await wsHello(p.port, '/ws');
      assert.equal(r.status, 502);
    } finally {
      await p.stop();
      await live.close().catch(() => {});
    }
  });
});
