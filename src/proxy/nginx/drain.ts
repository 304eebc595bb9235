/**
 * The nginx drain, and its count of open streams per colour: what nginx's workers still hold on a
 * colour, read from /proc (procfs.ts) and told apart by drain-count.ts.
 */
import net from 'node:net';
import { COLOURS, type Colour } from '../../config/schema.js';
import type { DrainResult } from '../types.js';
import { countDrain, type DrainCount, type WorkerSockets } from './drain-count.js';
import { readNginxState, type NginxFiles, type NginxState } from './files.js';
import { masterPid } from './process.js';
import { tcpSocketsOf, workersOf, type Upstream } from './procfs.js';

const DRAIN_POLL_MS = 50;

/** What the drain needs of NginxSetup (control.ts). */
export interface DrainSetup {
  files: NginxFiles;
  /** The swarm edge: a name's addresses now (see upstreamsOf). */
  lookup?: (host: string) => Promise<string[]>;
}

/**
 * nginx has no per-colour in-flight count, so we watch what the kernel shows: (1) old-generation
 * workers left by a reload must finish their ordinary work (they may still serve requests on the
 * old config), and (2) nginx's connections to the colour's backends must close. A connection still
 * open is a request in flight or an idle pooled one; pooled ones close after
 * upstreamKeepaliveTimeout, so the drain takes about that long after traffic left. What is open at
 * the timeout is reported as inFlight: an upper bound.
 *
 * Streams (SSE, WebSockets) come from source addresses of their own (drain-count.ts), when every
 * backend is on loopback. Once `streamGraceMs` has passed, the drain stops waiting for them and
 * leaves them to the colour's stop: nginx cannot end one response without cutting its connection,
 * and the app ends its streams on the stop's SIGTERM (docs/traffic.md#streams). Ordinary requests
 * are still waited for, up to the timeout.
 */
export async function drainColour(
  s: DrainSetup,
  colour: Colour,
  timeoutMs: number,
  streamGraceMs?: number,
): Promise<DrainResult> {
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  const pid = await masterPid(s.files);
  const backends = Object.values((await readNginxState(s.files)).backends[colour] ?? {}).flat();
  const upstreams = await upstreamsOf(s, backends);
  while (pid !== undefined) {
    const c = await countNow(pid, upstreams);
    const streams = c.sse + c.websockets;
    const ordinaryDone = c.requests === 0 && !c.oldBusy;
    if (ordinaryDone && streams === 0) break;
    const ms = elapsed();
    if (ordinaryDone && streamGraceMs !== undefined && ms >= streamGraceMs) {
      const left = { afterMs: ms, sse: c.sse, websockets: c.websockets, long: 0, leftToStop: true };
      return { inFlight: 0, websocketsClosed: 0, timedOut: false, ms, streams: left };
    }
    if (ms >= timeoutMs) return { inFlight: c.requests + streams, websocketsClosed: 0, timedOut: true, ms };
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
  return { inFlight: 0, websocketsClosed: 0, timedOut: false, ms: elapsed() };
}

/** The master's workers (old generations too) with the sockets each holds now. */
async function workerSockets(master: number): Promise<WorkerSockets[]> {
  const workers = await workersOf(master);
  const sockets = await tcpSocketsOf(workers.map((w) => w.pid));
  return workers.map((w) => ({ shuttingDown: w.shuttingDown, sockets: sockets.get(w.pid) ?? [] }));
}

/** The colour's connections now, across the master's workers. */
async function countNow(master: number, upstreams: Upstream[]): Promise<DrainCount> {
  return countDrain(await workerSockets(master), upstreams);
}

/**
 * What nginx's connections to a colour look like in /proc. On this machine a colour's ports are
 * its own: the port says it. On a swarm both colours listen on the same port, so a backend's name
 * is looked up (its tasks' addresses now); a name that does not resolve is matched by port alone,
 * which can only make the drain wait longer, never end it early.
 */
async function upstreamsOf(s: DrainSetup, backends: { host: string; port: number }[]): Promise<Upstream[]> {
  if (!s.lookup) return backends.map((b) => ({ port: b.port }));
  const lookup = s.lookup;
  const lists = await Promise.all(
    backends.map(async (b) => {
      const addrs = net.isIP(b.host) === 4 ? [b.host] : await lookup(b.host).catch(() => [] as string[]);
      return addrs.length > 0 ? addrs.map((address) => ({ address, port: b.port })) : [{ port: b.port }];
    }),
  );
  return lists.flat();
}

/** Open streams per colour, from nginx's stream connections (drain-count.ts); none when it is not running. */
export async function openStreams(s: DrainSetup, pid: number, state: NginxState) {
  const websockets = { blue: 0, green: 0 };
  const streams = { blue: 0, green: 0 };
  // The swarm edge sends streams like requests (no source address of their own): nothing to count.
  if (pid <= 0 || s.lookup) return { websockets, streams };
  const workers = await workerSockets(pid); // one read of /proc for both colours
  for (const colour of COLOURS) {
    const backends = Object.values(state.backends[colour] ?? {}).flat();
    if (backends.length === 0) continue;
    const c = countDrain(workers, await upstreamsOf(s, backends));
    websockets[colour] = c.websockets;
    streams[colour] = c.sse;
  }
  return { websockets, streams };
}
