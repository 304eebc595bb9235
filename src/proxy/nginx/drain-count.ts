/**
 * What nginx still holds on a draining colour, told apart from its sockets (procfs.ts): ordinary
 * requests, and streams. nginx sends a stream request (`Accept: text/event-stream`, or an
 * `Upgrade` header) over a connection from a source address of its own (render.ts: `proxy_bind`,
 * backends on loopback only), SSE from 127.0.0.2 and WebSockets from 127.0.0.3, to an upstream
 * without a keep-alive pool. So a connection's local address says what it carries, and a
 * connection from 127.0.0.1 is an ordinary request or an idle pooled connection, never a stream.
 */
import { toUpstream, type TcpSocket, type Upstream } from './procfs.js';

/** The source addresses of stream connections (on the loopback network, which is all of 127/8). */
export const STREAM_BIND = { sse: '127.0.0.2', websocket: '127.0.0.3' } as const;

export interface WorkerSockets {
  /** An old-generation worker (after a reload), closing once its connections are done. */
  shuttingDown: boolean;
  sockets: TcpSocket[];
}

export interface DrainCount {
  /** Connections to the colour that are not streams: requests in flight, or idle pooled ones. */
  requests: number;
  sse: number;
  websockets: number;
  /**
   * An old-generation worker still has ordinary work (anything but client connections carrying
   * streams and those streams' upstream connections). Its config may have had other ports for the
   * colour, so the drain waits for it as it waits for requests.
   */
  oldBusy: boolean;
}

const streamKind = (s: TcpSocket): 'sse' | 'websocket' | undefined =>
  s.local.address === STREAM_BIND.sse ? 'sse' : s.local.address === STREAM_BIND.websocket ? 'websocket' : undefined;

/** Counts a colour's connections (`upstreams`: its backends) across nginx's workers. */
export function countDrain(workers: WorkerSockets[], upstreams: Upstream[]): DrainCount {
  const listen = new Set(workers.flatMap((w) => w.sockets.filter((s) => s.listening).map((s) => s.local.port)));
  const out: DrainCount = { requests: 0, sse: 0, websockets: 0, oldBusy: false };
  for (const w of workers) {
    let clients = 0;
    let streams = 0;
    let other = 0;
    for (const s of w.sockets) {
      if (s.listening) continue;
      const kind = streamKind(s);
      if (kind) streams++;
      else if (listen.has(s.local.port)) clients++;
      else other++;
      if (!toUpstream(s.remote, upstreams)) continue;
      if (kind === 'sse') out.sse++;
      else if (kind === 'websocket') out.websockets++;
      else out.requests++;
    }
    // Each stream has one client connection; a client connection more is a request of another kind.
    if (w.shuttingDown && (other > 0 || clients > streams)) out.oldBusy = true;
  }
  return out;
}
