/**
 * Per-colour bookkeeping for drains: in-flight HTTP requests, the responses among them that have
 * begun (headers sent: an SSE stream, a download, or an ordinary answer being written), and open
 * WebSockets. A drain waits on an event (a count changing), never on a fixed sleep.
 */
import type { Colour } from '../../config/schema.js';

/** Something that can be closed with a close code toward the client (a relayed WebSocket). */
export interface Closable {
  close(code: number, reason: string): void;
}

/** A response whose headers went out, still being written: `sse` when it is `text/event-stream`. */
export interface Responding {
  readonly sse: boolean;
  /** Ends it cleanly toward the client (the response is terminated, not cut) and stops the backend's. */
  endStream(): void;
}

export class Counters {
  private readonly inFlight: Record<Colour, number> = { blue: 0, green: 0 };
  private readonly sockets: Record<Colour, Set<Closable>> = { blue: new Set(), green: new Set() };
  private readonly responding: Record<Colour, Set<Responding>> = { blue: new Set(), green: new Set() };
  private readonly changeWaiters: Record<Colour, Set<() => void>> = { blue: new Set(), green: new Set() };

  requestStarted(colour: Colour): void {
    this.inFlight[colour]++;
  }

  requestEnded(colour: Colour): void {
    this.inFlight[colour]--;
    this.changed(colour);
  }

  responseStarted(colour: Colour, r: Responding): void {
    this.responding[colour].add(r);
  }

  /** Called before requestEnded for a response that started. */
  responseEnded(colour: Colour, r: Responding): void {
    this.responding[colour].delete(r);
  }

  /** Open SSE responses per colour. */
  streamsOf(colour: Colour): number {
    let n = 0;
    for (const r of this.responding[colour]) if (r.sse) n++;
    return n;
  }

  /** Ends every open SSE response of `colour` cleanly; returns how many. */
  endStreams(colour: Colour): number {
    const sse = [...this.responding[colour]].filter((r) => r.sse);
    for (const r of sse) r.endStream();
    return sse.length;
  }

  /** Requests of `colour` whose response has not begun: the app is still working on them. */
  waitingOf(colour: Colour): number {
    return this.inFlight[colour] - this.responding[colour].size;
  }

  /** Non-SSE responses of `colour` being written now (a download, a long-poll answering in parts). */
  longResponsesOf(colour: Colour): number {
    return this.responding[colour].size - this.streamsOf(colour);
  }

  private changed(colour: Colour): void {
    if (this.changeWaiters[colour].size > 0) for (const wake of [...this.changeWaiters[colour]]) wake();
  }

  /** Resolves true as soon as `done()` holds (checked now and at every change of `colour`), false after `timeoutMs`. */
  waitUntil(colour: Colour, done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.changeWaiters[colour].delete(check);
        resolve(ok);
      };
      const check = () => {
        if (done()) finish(true);
      };
      const timer = setTimeout(() => finish(done()), Math.max(0, timeoutMs));
      this.changeWaiters[colour].add(check);
    });
  }

  inFlightOf(colour: Colour): number {
    return this.inFlight[colour];
  }

  snapshot(): {
    inFlight: Record<Colour, number>;
    websockets: Record<Colour, number>;
    streams: Record<Colour, number>;
  } {
    return {
      inFlight: { ...this.inFlight },
      websockets: { blue: this.sockets.blue.size, green: this.sockets.green.size },
      streams: { blue: this.streamsOf('blue'), green: this.streamsOf('green') },
    };
  }

  addSocket(colour: Colour, s: Closable): void {
    this.sockets[colour].add(s);
  }

  removeSocket(colour: Colour, s: Closable): void {
    this.sockets[colour].delete(s);
    this.changed(colour);
  }

  socketsOf(colour: Colour): number {
    return this.sockets[colour].size;
  }

  /** Resolves true when no request is in flight to `colour`, false when `timeoutMs` passed first. */
  waitIdle(colour: Colour, timeoutMs: number): Promise<boolean> {
    return this.waitUntil(colour, () => this.inFlight[colour] === 0, timeoutMs);
  }

  /** Closes every WebSocket of `colour` with `code`; returns how many were open. */
  closeSockets(colour: Colour, code: number, reason: string): number {
    const open = [...this.sockets[colour]];
    this.sockets[colour].clear();
    for (const s of open) s.close(code, reason);
    return open.length;
  }

  /** Everything, any colour: used at shutdown. */
  totalInFlight(): number {
    return this.inFlight.blue + this.inFlight.green;
  }
}
