/** The swarm tunnel's framing (src/runtime/swarm/tunnel-protocol.ts): encode, the incremental decoder, its limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  DATA_CHUNK,
  FrameDecoder,
  FrameType,
  HEADER_SIZE,
  MAX_FRAME,
  TunnelProtocolError,
  dataFrames,
  encode,
  parseTarget,
  type Frame,
} from '../../src/runtime/swarm/tunnel-protocol.ts';

const sample = (): { frames: Frame[]; bytes: Buffer } => {
  const frames: Frame[] = [
    { type: FrameType.READY, id: 0, payload: Buffer.alloc(0) },
    { type: FrameType.OPEN, id: 1, payload: Buffer.from('{"host":"10.0.1.5","port":8000}') },
    { type: FrameType.OPENED, id: 1, payload: Buffer.alloc(0) },
    { type: FrameType.DATA, id: 1, payload: randomBytes(300) },
    { type: FrameType.END, id: 1, payload: Buffer.alloc(0) },
    { type: FrameType.PAUSE, id: 0xffff_ffff, payload: Buffer.alloc(0) },
    { type: FrameType.RESUME, id: 0xffff_ffff, payload: Buffer.alloc(0) },
    { type: FrameType.CLOSE, id: 7, payload: Buffer.from('connect ECONNREFUSED 10.0.1.5:5000') },
  ];
  return { frames, bytes: Buffer.concat(frames.map((f) => encode(f.type, f.id, f.payload))) };
};

test('encode: length, stream id and type in the header, the payload after it', () => {
  const b = encode(FrameType.CLOSE, 0x01020304, 'why');
  assert.deepEqual([...b.subarray(0, HEADER_SIZE)], [0, 0, 0, 3, 1, 2, 3, 4, FrameType.CLOSE]);
  assert.equal(b.subarray(HEADER_SIZE).toString(), 'why');
  assert.equal(encode(FrameType.READY, 0).length, HEADER_SIZE);
  assert.throws(() => encode(FrameType.DATA, 1, Buffer.alloc(MAX_FRAME + 1)), TunnelProtocolError);
  assert.throws(() => encode(FrameType.DATA, -1), TunnelProtocolError);
  assert.throws(() => encode(FrameType.DATA, 2 ** 32), TunnelProtocolError);
});

test('round trip: every frame back as it was, several frames in one chunk', () => {
  const { frames, bytes } = sample();
  const d = new FrameDecoder();
  assert.deepEqual(d.feed(bytes), frames);
  assert.equal(d.pending, 0);
});

test('frames split at every byte boundary come out whole, in order', () => {
  const { frames, bytes } = sample();
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new FrameDecoder();
    const got = [...d.feed(bytes.subarray(0, cut)), ...d.feed(bytes.subarray(cut))];
    assert.deepEqual(got, frames, `cut at ${cut}`);
  }
  // One byte at a time.
  const d = new FrameDecoder();
  const got: Frame[] = [];
  for (let i = 0; i < bytes.length; i++) got.push(...d.feed(bytes.subarray(i, i + 1)));
  assert.deepEqual(got, frames);
});

test('data is cut into DATA_CHUNK frames that decode back to the same bytes', () => {
  const bytes = randomBytes(DATA_CHUNK * 2 + 17);
  const frames = dataFrames(9, bytes);
  assert.equal(frames.length, 3);
  const out = new FrameDecoder().feed(Buffer.concat(frames));
  assert.ok(out.every((f) => f.type === FrameType.DATA && f.id === 9));
  assert.deepEqual(
    out.map((f) => f.payload.length),
    [DATA_CHUNK, DATA_CHUNK, 17],
  );
  assert.ok(Buffer.concat(out.map((f) => f.payload)).equals(bytes));
  assert.deepEqual(dataFrames(9, Buffer.alloc(0)), []);
});

test('an oversize frame is refused from its header alone, and the decoder stays failed', () => {
  const head = Buffer.alloc(HEADER_SIZE);
  head.writeUInt32BE(MAX_FRAME + 1, 0);
  head.writeUInt32BE(1, 4);
  head.writeUInt8(FrameType.DATA, 8);
  const d = new FrameDecoder();
  assert.throws(() => d.feed(head), /over the limit/);
  assert.throws(() => d.feed(encode(FrameType.READY, 0)), /already failed/);
  // A smaller limit applies as given; exactly the limit is fine.
  assert.equal(new FrameDecoder(4).feed(encode(FrameType.DATA, 1, 'abcd')).length, 1);
  assert.throws(() => new FrameDecoder(4).feed(encode(FrameType.DATA, 1, 'abcde')), TunnelProtocolError);
});

test('an unknown frame type is refused', () => {
  const b = encode(FrameType.DATA, 1, 'x');
  b.writeUInt8(99, 8);
  assert.throws(() => new FrameDecoder().feed(b), /unknown frame type 99/);
});

test('OPEN targets: a non-empty host and a port 1..65535, nothing else', () => {
  const t = (v: unknown) => parseTarget(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
  assert.deepEqual(t({ host: 'tasks.app_proxy', port: 9000 }), { host: 'tasks.app_proxy', port: 9000 });
  assert.deepEqual(t({ host: '10.0.1.5', port: 65535 }), { host: '10.0.1.5', port: 65535 });
  for (const bad of [
    { host: '', port: 80 },
    { host: 'a', port: 0 },
    { host: 'a', port: 65536 },
    { host: 'a', port: 80.5 },
    { host: 'a', port: '80' },
    { port: 80 },
    null,
    'not json',
  ])
    assert.equal(t(bad), undefined, JSON.stringify(bad));
});
