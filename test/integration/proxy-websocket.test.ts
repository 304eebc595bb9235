import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { freePort, startBackend, waitFor, type TestBackend } from '../helpers/backends.js';
import { local, snapshot, startProxy } from '../helpers/proxy.js';
import { budget } from '../helpers/budget.js';

const routes = [{ path: '/', service: 'app' }];

function open(url: string, protocols: string[] = []): Promise<{ ws: WebSocket; hello: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { handshakeTimeout: 5_000 });
    ws.once('message', (d) => resolve({ ws, hello: d.toString() }));
    ws.once('error', reject);
  });
}

const next = (ws: WebSocket) =>
  new Promise<{ data: Buffer; isBinary: boolean }>((resolve) =>
    ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
  );

describe('WebSocket relay', () => {
  let blue: TestBackend;
  let p: Awaited<ReturnType<typeof startProxy>>;

  before(async () => {
    blue = await startBackend('blue');
    p = await startProxy(snapshot(routes, { blue: { app: [local(blue.port)] } }, 'blue'));
  }, budget(100));
  after(async () => {
    await p.stop();
    await blue.close();
  }, budget(100));

  it('relays text and binary messages both ways with the path and X-Forwarded-For', budget(100), async () => {
    const { ws, hello } = await open(`ws://127.0.0.1:${p.port}/chat?room=1`);
    assert.equal(hello, 'hello from blue /chat?room=1 127.0.0.1');
    ws.send('ping-text');
    assert.equal((await next(ws)).data.toString(), 'blue:ping-text');
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    const bin = await next(ws);
    assert.equal(bin.isBinary, true);
    assert.deepEqual([...bin.data], [1, 2, 3]);
    ws.close(1000, 'bye');
    await new Promise((r) => ws.once('close', r));
  });

  it('accepts the client with the subprotocol the backend chose', budget(100), async () => {
    const { ws } = await open(`ws://127.0.0.1:${p.port}/chat`, ['chat.v1', 'chat.v2']);
    assert.equal(ws.protocol, 'chat.v2');
    ws.terminate();
  });

  it('relays ping and pong end to end', budget(100), async () => {
    const { ws } = await open(`ws://127.0.0.1:${p.port}/chat`);
    const pong = new Promise<string>((resolve) => ws.once('pong', (d) => resolve(d.toString())));
    ws.ping('are-you-there');
    assert.equal(await pong, 'are-you-there');
    ws.terminate();
  });

  it('passes the backend close code to the client and the client close code to the backend', budget(100), async () => {
    const a = await open(`ws://127.0.0.1:${p.port}/chat`);
    const code = new Promise<number>((resolve) => a.ws.once('close', (c) => resolve(c)));
    a.ws.send('close-me');
    assert.equal(await code, 4001);

    const before = blue.closeCodes.length;
    const b = await open(`ws://127.0.0.1:${p.port}/chat`);
    b.ws.close(4002, 'client done');
    assert.ok(
      await waitFor(() => blue.closeCodes.slice(before).includes(4002)),
      `backend saw ${JSON.stringify(blue.closeCodes)}`,
    );
    assert.ok(await waitFor(async () => (await p.proxy.status()).websockets.blue === 0), 'the relay was forgotten');
  });

  it('answers an upgrade it cannot serve with a plain HTTP status', budget(100), async () => {
    const dead = await freePort();
    const none = await startProxy(snapshot(routes, {}, null));
    const bad = await startProxy(snapshot(routes, { blue: { app: [local(dead)] } }, 'blue'));
    try {
      const status = (url: string) =>
        new Promise<number>((resolve, reject) => {
          const ws = new WebSocket(url, { handshakeTimeout: 5_000 });
          ws.once('unexpected-response', (_req, res) => {
            resolve(res.statusCode ?? 0);
            ws.terminate();
          });
          ws.once('open', () => reject(new Error('should not open')));
          ws.once('error', () => {});
        });
      assert.equal(await status(`ws://127.0.0.1:${none.port}/x`), 503);
      assert.equal(await status(`ws://127.0.0.1:${bad.port}/x`), 502);
    } finally {
      await none.stop();
      await bad.stop();
    }
  });
});
