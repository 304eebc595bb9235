import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort, get, startBackend, startResettingBackend, type TestBackend } from '../helpers/backends.js';
import { local, snapshot, startProxy } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';

const routes = [
  { path: '/', service: 'web' },
  { path: '/api', service: 'api' },
];

describe('proxy routing and headers', () => {
  let api: TestBackend;
  let web: TestBackend;
  let p: Awaited<ReturnType<typeof startProxy>>;

  before(async () => {
    api = await startBackend('blue');
    web = await startBackend('blue');
    p = await startProxy(snapshot(routes, { blue: { api: [local(api.port)], web: [local(web.port)] } }, 'blue'));
  }, budget(100));
  after(async () => {
    await p.stop();
    await api.close();
    await web.close();
  }, budget(100));

  it('sends each path to the longest matching prefix and marks the colour', budget(100), async () => {
    const before = api.hits.get('/api/users') ?? 0;
    const r = await get(p.port, '/api/users?x=1');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-switchyard-env'], 'blue');
    assert.equal(JSON.parse(r.body).url, '/api/users?x=1');
    assert.equal(api.hits.get('/api/users'), before + 1);
    await get(p.port, '/apix');
    assert.equal(web.hits.get('/apix'), 1, '/apix is not under /api');
    await get(p.port, '/');
    assert.equal(web.hits.get('/'), 1);
  });

  it('sets X-Forwarded-* and strips hop-by-hop request headers', budget(100), async () => {
    const r = await get(p.port, '/api/echo', {
      headers: {
        host: 'shop.example.test',
        connection: 'keep-alive, X-Drop-Me',
        'x-drop-me': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'proxy-authorization': 'Basic eA==',
        'x-forwarded-for': '10.0.0.1',
        'x-custom': 'kept',
      },
    });
    const h = JSON.parse(r.body).headers as Record<string, string>;
    assert.equal(h['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'shop.example.test');
    assert.equal(h['x-custom'], 'kept');
    assert.equal(h.host, 'shop.example.test');
    for (const gone of ['x-drop-me', 'keep-alive', 'te', 'proxy-authorization']) assert.equal(h[gone], undefined, gone);
  });

  it('strips hop-by-hop response headers, including those named in Connection', budget(100), async () => {
    const r = await get(p.port, '/api/hop');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-keep'], 'yes');
    assert.equal(r.headers['x-hop-resp'], undefined);
    assert.equal(r.headers['x-switchyard-env'], 'blue');
  });

  it('streams request bodies to the backend', budget(100), async () => {
    const body = 'x'.repeat(256 * 1024);
    const r = await get(p.port, '/api/upload', { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).received, body.length);
  });

  it('delivers the first chunk of a streamed response before the backend ends it', budget(100), async () => {
    const first = await new Promise<{ chunk: string; res: http.IncomingMessage }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: p.port, path: '/api/hold', agent: false }, (res) => {
        res.once('data', (c: Buffer) => resolve({ chunk: c.toString(), res }));
      });
      req.on('error', reject);
      req.setTimeout(5_000, () => req.destroy(new Error('no first chunk within 5 s')));
    });
    assert.equal(first.chunk, 'first\n');
    assert.equal(first.res.complete, false, 'the response must still be open');
    const rest: string[] = [];
    first.res.on('data', (c: Buffer) => rest.push(c.toString()));
    const ended = new Promise((r) => first.res.on('end', r));
    api.release();
    await ended;
    assert.equal(rest.join(''), 'last\n');
  });

  it('answers a path without a route with 404', budget(100), async () => {
    const only = await startProxy(
      snapshot([{ path: '/api', service: 'api' }], { blue: { api: [local(api.port)] } }, 'blue'),
    );
    try {
      const r = await get(only.port, '/nowhere');
      assert.equal(r.status, 404);
      assert.match(r.body, /no route/);
    } finally {
      await only.stop();
    }
  });

  it('answers 503 with no active colour and when the colour lacks the service', budget(100), async () => {
    const none = await startProxy(snapshot(routes, {}, null));
    const partial = await startProxy(snapshot(routes, { blue: { api: [local(api.port)] } }, 'blue'));
    try {
      const a = await get(none.port, '/api/x');
      assert.equal(a.status, 503);
      assert.match(a.body, /no environment is active/);
      const b = await get(partial.port, '/page');
      assert.equal(b.status, 503);
      assert.match(b.body, /"web"/);
      assert.equal((await get(partial.port, '/api/x')).status, 200);
    } finally {
      await none.stop();
      await partial.stop();
    }
  });

  it('answers 502 when the backend refuses the connection', budget(100), async () => {
    const dead = await freePort();
    const bad = await startProxy(snapshot(routes, { blue: { api: [local(dead)], web: [local(dead)] } }, 'blue'));
    try {
      const r = await get(bad.port, '/api/x');
      assert.equal(r.status, 502);
      assert.equal(r.headers['x-switchyard-env'], 'blue');
      const post = await get(bad.port, '/api/x', { method: 'POST', body: 'abc' });
      assert.equal(post.status, 502);
    } finally {
      await bad.stop();
    }
  });

  it('retries an idempotent request once when a reused backend connection is reset', budget(100), async () => {
    const flaky = await startResettingBackend();
    const fp = await startProxy(
      snapshot([{ path: '/', service: 'app' }], { blue: { app: [local(flaky.port)] } }, 'blue'),
    );
    try {
      assert.equal((await get(fp.port, '/one')).status, 200);
      assert.equal(flaky.connections(), 1);
      // A POST on the reused (reset) connection is not retried: the backend may have acted on it.
      const post = await get(fp.port, '/two', { method: 'POST', body: 'x' });
      assert.equal(post.status, 502);
      assert.equal(flaky.connections(), 1);
      assert.equal((await get(fp.port, '/three')).status, 200);
      assert.equal(flaky.connections(), 2);
      // Reuses the pooled connection, which the backend resets: retried once on a fresh one.
      const again = await get(fp.port, '/four');
      assert.equal(again.status, 200);
      assert.equal(again.body, 'ok');
      assert.equal(flaky.connections(), 3);
    } finally {
      await fp.stop();
      await flaky.close();
    }
  });

  it(
    'answers 502 when the backend sends a response Node cannot relay, and 400 for absolute-form targets',
    budget(100),
    async () => {
      const raw = net.createServer((s) => {
        s.on('error', () => {});
        s.once('data', () => s.end('HTTP/1.1 200 OK\r\nX-Bad: a\u0001b\r\nContent-Length: 2\r\n\r\nok'));
      });
      const rawPort = await new Promise<number>((r) =>
        raw.listen(0, '127.0.0.1', () => r((raw.address() as net.AddressInfo).port)),
      );
      const rp = await startProxy(
        snapshot([{ path: '/', service: 'app' }], { blue: { app: [local(rawPort)] } }, 'blue'),
      );
      try {
        const r = await get(rp.port, '/x');
        assert.ok(r.status === 502, `status ${r.status}`);
        const abs = await get(rp.port, 'http://elsewhere.test/x');
        assert.equal(abs.status, 400);
      } finally {
        await rp.stop();
        await new Promise((r) => raw.close(r));
      }
    },
  );

  it('does not expose the control API on the public port', budget(100), async () => {
    const apiOnly = await startProxy(
      snapshot(
        [{ path: '/api', service: 'api' }],
        { blue: { api: [local(api.port)] }, green: { api: [local(web.port)] } },
        'blue',
      ),
    );
    try {
      const s = await get(apiOnly.port, '/status');
      assert.equal(s.status, 404);
      const sw = await get(apiOnly.port, '/switch', {
        method: 'POST',
        body: '{"colour":"green"}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(sw.status, 404);
      assert.equal((await apiOnly.proxy.status()).active, 'blue');
      // With a catch-all route the same paths reach the app, never the proxy's control.
      const viaApp = await get(p.port, '/status');
      assert.equal(viaApp.headers['x-switchyard-env'], 'blue');
      assert.equal(JSON.parse(viaApp.body).url, '/status');
    } finally {
      await apiOnly.stop();
    }
  });
});
