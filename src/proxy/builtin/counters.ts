/**
 * Per-colour bookkeeping for drains: in-flight HTTP requests and open WebSockets. A drain waits
 * on an event (the count reaching zero), never on a fixed sleep.
 */
import type { Colour } from '../../config/schema.js';

/** Something that can be closed with a close code toward the client (a relayed WebSocket). */
export interface Closable {
  close(code: number, reason: string): void;
}

export class Counters {
  private readonly inFlight: Record<Colour, number> = { blue: 0, green: 0 };
  private readonly sockets: Record<Colour, Set<Closable>> = { blue: new Set(), green: new Set() };
  private readonly idleWaiters: Record<Colour, Set<() => void>> = { blue: new Set(), green: new Set() };

  requestStarted(colour: Colour): void {
    this.inFlight[colour]++;
  }

  requestEnded(colour: Colour): void {
    const n = --this.inFlight[colour];
    if (n === 0 && this.idleWaiters[colour].size > 0) {
      for (const wake of [...this.idleWaiters[colour]]) wake();
    }
  }

  inFlightOf(colour: Colour): number {
    return this.inFlight[colour];
  }

  snapshot(): { inFlight: Record<Colour, number>; websockets: Record<Colour, number> } {
    return {
      inFlight: { ...this.inFlight },
      websockets: { blue: this.sockets.blue.size, green: this.sockets.green.size },
    };
  }

  addSocket(colour: Colour, s: Closable): void {
    this.sockets[colour].add(s);
  }

  removeSocket(colour: Colour, s: Closable): void {
    this.sockets[colour].delete(s);
  }

  /** Resolves true when no request is in flight to `colour`, false when `timeoutMs` passed first. */
  waitIdle(colour: Colour, timeoutMs: number): Promise<boolean> {
    if (this.inFlight[colour] === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean) => {
        clearTimeout(timer);
        this.idleWaiters[colour].delete(wake);
        resolve(idle);
      };
      const wake = () => done(true);
      const timer = setTimeout(() => done(false), Math.max(0, timeoutMs));
      this.idleWaiters[colour].add(wake);
    });
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
