/**
 * Moving traffic (I3): switch the proxy, prove the new colour answers through the public entry,
 * and switch back by itself when it does not.
 */
import type { Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import type { DrainResult, ProxyControl } from '../proxy/types.js';
import type { Engine } from './context.js';
import { verifyPublic } from './verify.js';

/** `onSwitched` runs once the proxy moved, before verifying (progress output). */
export async function switchAndVerify(
  e: Engine,
  proxy: ProxyControl,
  from: Colour | null,
  to: Colour,
  onSwitched?: () => void,
): Promise<{ switchMs: number; verifyMs: number }> {
  const t0 = Date.now();
  await proxy.switchTo(to);
  const switchMs = Date.now() - t0;
  onSwitched?.();
  try {
    // Not tied to e.signal: once traffic moved, finishing the verification is the safe path.
    // Through every public entry the proxy has (swarm: each edge node), all at once.
    const entries = e.proxy.entries ? await e.proxy.entries() : undefined;
    const timeout = e.loaded.config.deploy.verifyTimeout;
    const verifyMs = entries
      ? Math.max(
          0,
          ...(await Promise.all(entries.map((at) => verifyPublic(e.loaded.config, to, timeout, undefined, at)))),
        )
      : await verifyPublic(e.loaded.config, to, timeout);
    return { switchMs, verifyMs };
  } catch (err) {
    if (from) {
      await proxy.switchTo(from);
      throw new SwitchyardError(
        'SWITCH_FAILED',
        `traffic moved to ${to} but it did not answer through the proxy; switched back to ${from}`,
        {
          cause: err,
          details: [errorMessage(err)],
          hint: `check \`switchyard logs ${to}\` and \`switchyard status\``,
        },
      );
    }
    throw err;
  }
}

/**
 * Lets in-flight requests finish on `colour`, then stops its services (`onDrained` in between, for progress output).
 */
export async function drainAndStop(
  e: Engine,
  proxy: ProxyControl,
  colour: Colour,
  onDrained?: () => void,
): Promise<DrainResult> {
  const { drainTimeout, streamGrace } = e.loaded.config.deploy;
  const drained = await proxy.drain(colour, drainTimeout, { streamGraceMs: streamGrace });
  onDrained?.();
  await e.runtime.stop(colour);
  return drained;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * One line for the drain: `drained in 2104 ms (open at the start: ...); 1 stream ended after 2 s
 * (SSE), ...`. Streams are named apart from requests: what the stream grace ended, and what it left.
 */
export function drainSummary(d: DrainResult): string {
  const o = d.openAtStart;
  const sse = o?.streams ? `, ${o.streams} of them SSE` : '';
  const waited =
    o && o.requests + o.websockets > 0
      ? ` (open at the start: ${o.requests} request(s)${sse}, ${o.websockets} WebSocket(s))`
      : o
        ? ' (nothing was open)'
        : '';
  const parts = [`drained in ${d.ms} ms${waited}`];
  const s = d.streams;
  if (s) {
    const after = `after ${(s.afterMs / 1000).toFixed(1)} s`;
    const kinds = [s.sse ? `${s.sse} SSE` : '', s.websockets ? `${s.websockets} WebSocket` : ''].filter(Boolean);
    const what = s.leftToStop ? "left to the colour's stop" : 'ended';
    if (kinds.length) parts.push(`${plural(s.sse + s.websockets, 'stream')} ${what} ${after} (${kinds.join(', ')})`);
    if (s.long)
      parts.push(
        `${plural(s.long, 'connection')} still open ${after} left to the stop ` + '(responses still being written)',
      );
  }
  if (d.timedOut) parts.push(`${d.inFlight} request(s) still open at the drain timeout`);
  const lateWs = d.websocketsClosed - (s?.websockets ?? 0);
  if (lateWs > 0) parts.push(`${lateWs} WebSocket(s) closed with 1001`);
  return parts.join('; ');
}
