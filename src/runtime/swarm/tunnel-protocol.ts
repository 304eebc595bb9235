/**
 * The overlay tunnel's wire format (docs/swarm.md, "Where the control channel listens"): the CLI
 * and the relay container talk over the container's stdin and stdout in frames of
 * `[u32 BE payload length][u32 BE stream id][u8 type][payload]`, one TCP connection per stream id.
 * The CLI opens streams (OPEN, JSON `{host, port}`); the relay answers OPENED or CLOSE (with why).
 * DATA carries bytes (at most DATA_CHUNK a frame), END half-closes one direction, CLOSE ends the
 * stream (an optional UTF-8 reason when it failed). PAUSE/RESUME are per-stream flow control: the
 * receiver's socket is full, stop sending on that stream until it drained, so one slow connection
 * never stalls the others sharing the pipe. READY (stream 0) is the relay's first frame.
 */

export const FrameType = {
  OPEN: 1,
  OPENED: 2,
  DATA: 3,
  END: 4,
  CLOSE: 5,
  READY: 6,
  PAUSE: 7,
  RESUME: 8,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const TYPES = new Set<number>(Object.values(FrameType));
export const HEADER_SIZE = 9;
/** The largest payload a decoder accepts: a bigger length is a broken or hostile stream. */
export const MAX_FRAME = 1024 * 1024;
/** DATA payloads are cut to this size. */
export const DATA_CHUNK = 64 * 1024;
/** The highest stream id (0 is the relay's own, READY). */
export const MAX_STREAM_ID = 0xffff_ffff;

export interface Frame {
  type: FrameType;
  id: number;
  payload: Buffer;
}

export class TunnelProtocolError extends Error {
  override name = 'TunnelProtocolError';
}

const EMPTY = Buffer.alloc(0);

export function encode(type: FrameType, id: number, payload: Buffer | string = EMPTY): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length > MAX_FRAME) throw new TunnelProtocolError(`frame payload of ${body.length} bytes over ${MAX_FRAME}`);
  if (!Number.isInteger(id) || id < 0 || id > MAX_STREAM_ID) throw new TunnelProtocolError(`bad stream id ${id}`);
  const head = Buffer.allocUnsafe(HEADER_SIZE);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt32BE(id, 4);
  head.writeUInt8(type, 8);
  return body.length === 0 ? head : Buffer.concat([head, body]);
}

/** DATA frames for `bytes`, DATA_CHUNK at most each. */
export function dataFrames(id: number, bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += DATA_CHUNK)
    out.push(encode(FrameType.DATA, id, bytes.subarray(at, at + DATA_CHUNK)));
  return out;
}

export interface OpenTarget {
  host: string;
  port: number;
}

/** The OPEN payload's target, or undefined when it is not a non-empty host and a port 1..65535. */
export function parseTarget(payload: Buffer): OpenTarget | undefined {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  const { host, port } = (v ?? {}) as { host?: unknown; port?: unknown };
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) return undefined;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** Splits a byte stream into frames as it arrives; throws TunnelProtocolError on a frame it cannot accept. */
export class FrameDecoder {
  private buf: Buffer = EMPTY;
  private failed = false;

  constructor(private readonly maxFrame = MAX_FRAME) {}

  feed(chunk: Buffer): Frame[] {
    if (this.failed) throw new TunnelProtocolError('the stream already failed');
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    while (this.buf.length >= HEADER_SIZE) {
      const size = this.buf.readUInt32BE(0);
      const type = this.buf.readUInt8(8);
      if (size > this.maxFrame) this.fail(`a frame of ${size} bytes is over the limit of ${this.maxFrame}`);
      if (!TYPES.has(type)) this.fail(`unknown frame type ${type}`);
      if (this.buf.length < HEADER_SIZE + size) break;
      // A copy: the caller may keep the payload while the rest of the chunk is reused.
      const payload = Buffer.from(this.buf.subarray(HEADER_SIZE, HEADER_SIZE + size));
      frames.push({ type: type as FrameType, id: this.buf.readUInt32BE(4), payload });
      this.buf = this.buf.subarray(HEADER_SIZE + size);
    }
    return frames;
  }

  /** Bytes of a frame not complete yet. */
  get pending(): number {
    return this.buf.length;
  }

  private fail(why: string): never {
    this.failed = true;
    this.buf = EMPTY;
    throw new TunnelProtocolError(why);
  }
}
