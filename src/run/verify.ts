/**
 * After a switch, prove through the public entry that the new colour answers (I3): poll the proxy's
 * public port until a response carries X-Switchyard-Env: <colour> with a non-5xx status.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Colour, Config } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { routeFor, sortRoutes } from '../proxy/routing.js';

/** The path used to probe: the health path of the service behind the first route that reaches it. */
export function verifyPath(config: Config): string {
  const sorted = sortRoutes(config.proxy.routes);
  for (const [name, svc] of Object.entries(config.services)) {
    if (routeFor(sorted, svc.health.path)?.service === name) return svc.health.path;
  }
  return config.proxy.routes[0]!.path;
}

function loopbackHost(h: string): string {
  return h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
}

/** The plain-HTTP public entry (with TLS configured it only redirects). */
export function publicBase(config: Config): string {
  return `http://${loopbackHost(config.proxy.listen.host)}:${config.proxy.listen.http}`;
}

const isLoopback = (h: string) => /^(127\.|localhost$|\[::1\]$)/.test(h);
let selfSigned: Agent | undefined;

/**
 * Where users really arrive: https when the proxy terminates TLS. On a loopback address the
 * certificate is not checked (we are talking to our own proxy, often with a self-signed one).
 */
export function publicEntry(config: Config): { base: string; dispatcher?: Dispatcher } {
  const listen = config.proxy.listen as { host: string; http: number; https?: number };
  const host = loopbackHost(listen.host);
  if (listen.https === undefined) return { base: `http://${host}:${listen.http}` };
  const base = `https://${host}:${listen.https}`;
  if (!isLoopback(host)) return { base };
  selfSigned ??= new Agent({ connect: { rejectUnauthorized: false } });
  return { base, dispatcher: selfSigned };
}

export async function verifyPublic(config: Config, colour: Colour, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const entry = publicEntry(config);
  const url = entry.base + verifyPath(config);
  // Monotonic: a wall clock that jumps must neither cut the wait short nor stretch it.
  const started = performance.now();
  let last = 'no response yet';
  while (performance.now() - started < timeoutMs) {
    signal?.throwIfAborted();
    try {
      const res = await request(url, { method: 'GET', headersTimeout: 2000, bodyTimeout: 2000, signal, dispatcher: entry.dispatcher });
      await res.body.dump();
      const env = res.headers['x-switchyard-env'];
      if (env === colour && res.statusCode < 500) return Math.round(performance.now() - started);
      last = `HTTP ${res.statusCode} from ${String(env ?? 'no colour header')}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new SwitchyardError('SWITCH_FAILED', `${url} did not answer from ${colour} within ${timeoutMs} ms (last: ${last})`);
}
