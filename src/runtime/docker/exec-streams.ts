/**
 * Stream plumbing for programs run with `docker exec` (hijacked, no TTY): the engine's multiplexed
 * frames split as they arrive, with backpressure; bounded output collectors; waiting on a Writable.
 * Shared by the database tools (src/backup/pg-container.ts) and Runtime.exec (exec.ts).
 */
import type { Readable, Writable } from 'node:stream';

/** Waits for a Writable to take more (drain), or rejects when it fails or closes first. */
export function drained(w: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (e: Error) => done(e);
    const onClose = () => done(new Error('the output stream closed while the program was still writing'));
    w.on('drain', onDrain);
    w.on('error', onError);
    w.on('close', onClose);
  });
}

/** Ends a Writable and waits until everything is flushed (or it fails). */
export function endAndFlush(w: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (w.writableFinished) return resolve();
    const onError = (e: Error) => (w.off('finish', onFinish), reject(e));
    const onFinish = () => (w.off('error', onError), resolve());
    w.once('error', onError);
    w.once('finish', onFinish);
    w.end();
  });
}

/**
 * Splits the engine's multiplexed stream (1 byte stream, 3 zero bytes, 4 bytes big-endian length,
 * payload) as it arrives; for-await gives backpressure: the socket is not read while stdout waits.
 * Anything that does not look like a frame is passed on as stdout, as the project's demux does.
 */
export async function demuxStream(
  socket: Readable,
  stdout: (b: Buffer) => Promise<void> | void,
  stderr: (b: Buffer) => void,
): Promise<void> {
  let buf: Buffer = Buffer.alloc(0);
  let raw = false;
  for await (const chunk of socket as AsyncIterable<Buffer>) {
    if (raw) {
      await stdout(chunk);
      continue;
    }
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 8) {
      const kind = buf[0]!;
      if (kind > 2 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) {
        raw = true;
        const rest = buf;
        buf = Buffer.alloc(0);
        await stdout(rest);
        break;
      }
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const payload = buf.subarray(8, 8 + size);
      buf = buf.subarray(8 + size);
      if (kind === 2) stderr(payload);
      else await stdout(payload);
    }
  }
}

/**
 * Output kept as bytes and decoded once at the end, so a character split across two frames is
 * not mangled: `head` mode keeps the first `max` bytes, `tail` mode the last ones.
 */
export class Collector {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(
    private readonly max: number,
    private readonly keep: 'head' | 'tail',
  ) {}
  add(b: Buffer): void {
    if (this.keep === 'head') {
      if (this.size >= this.max) return;
      b = b.subarray(0, this.max - this.size);
    }
    this.parts.push(b);
    this.size += b.length;
    while (this.keep === 'tail' && this.size - this.parts[0]!.length >= this.max)
      this.size -= this.parts.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.parts);
    return (this.keep === 'tail' && all.length > this.max ? all.subarray(all.length - this.max) : all).toString('utf8');
  }
}
