/**
 * The TCP connections carried over the tunnel's one pipe (tunnel-protocol.ts), the same on both
 * ends: the CLI's accepted loopback sockets and the relay's sockets to the overlay. Bytes read from
 * a socket go out as DATA, its end as END, its close as CLOSE (with the error, if any); frames that
 * come in are written to the socket of their stream. Backpressure both ways without one connection
 * stalling the rest: every socket pauses while the shared pipe is full (its write returned false),
 * and a socket that cannot take more sends PAUSE for its own stream until it drains (RESUME).
 */
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { FrameType, dataFrames, encode, type Frame } from './tunnel-protocol.js';

interface Entry {
  socket: Socket;
  /** The far end asked us to stop reading this socket (PAUSE). */
  held: boolean;
  /** We asked the far end to stop sending (PAUSE sent, RESUME not yet). */
  full: boolean;
  error?: string;
}

/** Sockets made with allowHalfOpen: an END closes one direction only. */
export class TunnelStreams {
  private readonly streams = new Map<number, Entry>();
  /** The pipe's write returned false and it has not drained yet. */
  private blocked = false;

  constructor(private readonly pipe: Writable) {
    pipe.on('drain', () => {
      this.blocked = false;
      for (const e of this.streams.values()) if (!e.held) e.socket.resume();
    });
  }

  get size(): number {
    return this.streams.size;
  }

  has(id: number): boolean {
    return this.streams.has(id);
  }

  /** Writes one frame to the pipe; when it is full, every socket stops reading until it drains. */
  send(frame: Buffer): void {
    if (this.pipe.destroyed || this.pipe.writableEnded) return;
    if (this.pipe.write(frame) || this.blocked) return;
    this.blocked = true;
    for (const e of this.streams.values()) e.socket.pause();
  }

  /** Carries `socket` as stream `id`. */
  add(id: number, socket: Socket): void {
    const entry: Entry = { socket, held: false, full: false };
    this.streams.set(id, entry);
    if (this.blocked) socket.pause();
    socket.on('data', (b: Buffer) => {
      for (const f of dataFrames(id, b)) this.send(f);
    });
    socket.on('end', () => {
      if (this.streams.get(id) === entry) this.send(encode(FrameType.END, id));
    });
    socket.on('drain', () => {
      if (!entry.full || this.streams.get(id) !== entry) return;
      entry.full = false;
      this.send(encode(FrameType.RESUME, id));
    });
    socket.on('error', (e: Error) => {
      entry.error ??= e.message;
    });
    socket.on('close', () => {
      if (this.streams.get(id) !== entry) return;
      this.streams.delete(id);
      this.send(encode(FrameType.CLOSE, id, entry.error ?? ''));
    });
  }

  /** Closes stream `id` from this side (the far end is told), `why` when it failed. */
  fail(id: number, why: string): void {
    const entry = this.streams.get(id);
    if (!entry) return;
    entry.error ??= why;
    entry.socket.destroy();
  }

  /** Handles DATA, END, CLOSE, PAUSE and RESUME; false for any other type. Unknown streams are ignored. */
  handle(f: Frame): boolean {
    const entry = this.streams.get(f.id);
    switch (f.type) {
      case FrameType.DATA:
        if (!entry || entry.socket.destroyed || entry.socket.writableEnded) return true;
        if (!entry.socket.write(f.payload) && !entry.full) {
          entry.full = true;
          this.send(encode(FrameType.PAUSE, f.id));
        }
        return true;
      case FrameType.END:
        if (entry && !entry.socket.writableEnded) entry.socket.end();
        return true;
      case FrameType.CLOSE:
        if (!entry) return true;
        this.streams.delete(f.id);
        if (f.payload.length > 0) reset(entry.socket);
        // Closed cleanly over there: what is queued here is still delivered, then the socket goes.
        else entry.socket.end(() => entry.socket.destroy());
        return true;
      case FrameType.PAUSE:
        if (entry) {
          entry.held = true;
          entry.socket.pause();
        }
        return true;
      case FrameType.RESUME:
        if (entry) {
          entry.held = false;
          if (!this.blocked) entry.socket.resume();
        }
        return true;
      default:
        return false;
    }
  }

  /** Drops every stream without telling the far end (the pipe is gone): each socket is reset. */
  destroyAll(): void {
    const all = [...this.streams.values()];
    this.streams.clear();
    for (const e of all) reset(e.socket);
  }
}

/** Destroys a socket with a TCP reset when it can (the peer sees ECONNRESET, not a clean end). */
export function reset(socket: Socket): void {
  try {
    if (!socket.destroyed && !socket.connecting) {
      socket.resetAndDestroy();
      return;
    }
  } catch {
    /* not a TCP handle: destroyed below */
  }
  socket.destroy();
}
