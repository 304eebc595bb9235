/**
 * The swarm tunnel's relay (src/runtime/swarm/tunnel-relay.ts) without Docker: frames written to
 * its input, its output decoded, real TCP servers on 127.0.0.1 as the overlay's tasks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { FrameDecoder, FrameType, dataFrames, encode, type Frame } from '../../src/runtime/swarm/tunnel-protocol.ts';
import { runTunnelRelay } from '../../src/runtime/swarm/tunnel-relay.ts';

/** A relay on in-memory pipes; `next(pred)` waits for the next output frame matching pred. */
function relay() {
  const input = new PassThrough();
  const output = new PassThrough();
  const decoder = new FrameDecoder();
  const seen: Frame[] = [];
  const waiting: { pred: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  output.on('data', (b: Buffer) => {
    for (const f of decoder.feed(b)) {
      const w = waiting.findIndex((x) => x.pred(f));
      if (w >= 0) waiting.splice(w, 1)[0]!.resolve(f);
      else seen.push(f);
    }
  });
  const done = runTunnelRelay(input, output, { connectTimeoutMs: 1_000 });
  const next = (pred: (f: Frame) => boolean): Promise<Frame> => {
    const i = seen.findIndex(pred);
    if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]!);
    return new Promise((resolve) => waiting.push({ pred, resolve }));
  };
  const send = (type: FrameType, id: number, payload: Buffer | string = '') => input.write(encode(type, id, payload));
  const open = (id: number, port: number, host = '127.0.0.1') =>
    send(FrameType.OPEN, id, JSON.stringify({ host, port }));
  return { input, done, next, send, open, seen };
}

const is = (type: FrameType, id: number) => (f: Frame) => f.type === type && f.id === id;

async function server(onConn: (s: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

test('READY first; OPEN, OPENED, DATA both ways, END each way, then CLOSE without a reason', async () => {
  const srv = await server((s) => {
    s.pipe(s);
  });
  const r = relay();
  assert.equal((await r.next(() => true)).type, FrameType.READY);
  r.open(1, srv.port);
  await r.next(is(FrameType.OPENED, 1));
  for (const f of dataFrames(1, Buffer.from('hello'))) r.input.write(f);
  assert.equal((await r.next(is(FrameType.DATA, 1))).payload.toString(), 'hello');
  r.send(FrameType.END, 1);
  await r.next(is(FrameType.END, 1));
  const close = await r.next(is(FrameType.CLOSE, 1));
  assert.equal(close.payload.length, 0);
  r.input.end();
  await r.done;
  srv.close();
});

test('a refused connection: CLOSE naming the error, quickly; a bad target: CLOSE, no connection', async () => {
  const srv = await server(() => undefined);
  const port = srv.port;
  srv.close();
  const r = relay();
  await r.next(is(FrameType.READY, 0));
  const t0 = performance.now();
  r.open(2, port);
  const close = await r.next(is(FrameType.CLOSE, 2));
  assert.match(close.payload.toString(), new RegExp(`^connect ECONNREFUSED 127\\.0\\.0\\.1:${port}$`));
  assert.ok(performance.now() - t0 < 1_000);
  r.open(3, 0);
  assert.match((await r.next(is(FrameType.CLOSE, 3))).payload.toString(), /port 1\.\.65535/);
  r.open(4, 80, '');
  assert.match((await r.next(is(FrameType.CLOSE, 4))).payload.toString(), /a host and a port/);
  r.send(FrameType.OPEN, 0, JSON.stringify({ host: '127.0.0.1', port: 80 }));
  assert.match((await r.next(is(FrameType.CLOSE, 0))).payload.toString(), /stream 0 cannot be opened/);
  assert.ok(!r.seen.some((f) => f.type === FrameType.OPENED));
  r.input.end();
  await r.done;
});

test('a socket that cannot take more sends PAUSE for its stream, and RESUME once it drained', async () => {
  let peer: net.Socket | undefined;
  let received = 0;
  const srv = await server((s) => {
    peer = s;
    s.pause();
    s.on('data', (b: Buffer) => (received += b.length));
  });
  const r = relay();
  await r.next(is(FrameType.READY, 0));
  r.open(5, srv.port);
  await r.next(is(FrameType.OPENED, 5));
  const total = 16 * 1024 * 1024;
  for (const f of dataFrames(5, Buffer.alloc(total, 7))) r.input.write(f);
  await r.next(is(FrameType.PAUSE, 5));
  peer!.resume();
  await r.next(is(FrameType.RESUME, 5));
  while (received < total) await new Promise((res) => setTimeout(res, 10));
  assert.equal(received, total);
  r.input.end();
  await r.done;
  srv.close();
});

test('stdin ending drops every connection and the relay returns', async () => {
  let closed = 0;
  const srv = await server((s) => {
    s.on('close', () => closed++);
    s.on('error', () => undefined);
  });
  const r = relay();
  await r.next(is(FrameType.READY, 0));
  r.open(6, srv.port);
  r.open(7, srv.port);
  await r.next(is(FrameType.OPENED, 6));
  await r.next(is(FrameType.OPENED, 7));
  r.input.end();
  await r.done;
  for (let i = 0; i < 100 && closed < 2; i++) await new Promise((res) => setTimeout(res, 10));
  assert.equal(closed, 2, 'both connections were closed');
  srv.close();
});

test('garbage on stdin ends the relay with an error', async () => {
  const r = relay();
  await r.next(is(FrameType.READY, 0));
  r.input.write(Buffer.from('this is not a frame'));
  await assert.rejects(r.done, /tunnel relay: .*(unknown frame type|over the limit)/);
});
