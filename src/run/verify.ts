/**
 * After a switch, prove through the public entry that the new colour answers (I3): poll the proxy's
 * public port until a response carries X-Switchyard-Env: <colour> with a non-5xx status.
 */
import type { Colour, Config } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { routeFor, sortRoutes } from '../config/routes.js';
import { httpRequest, urlOf, type HttpRequestOptions } from '../checks/http.js';
import type { Endpoint } from '../runtime/types.js';

/** The path used to probe: the health path of the service behind the first route that reaches it. */
export function verifyPath(config: Config): string {
  const sorted = sortRoutes(config.proxy.routes);
  for (const [name, svc] of Object.entries(config.services)) {
    if (routeFor(sorted, svc.health.path)?.service === name) return svc.health.path;
  }
  return config.proxy.routes[0]!.path;
}

const loopbackHost = (h: string) => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h);

/** The plain-HTTP public entry (with TLS configured it only redirects). */
export function publicBase(config: Config): string {
  return urlOf({ host: loopbackHost(config.proxy.listen.host), port: config.proxy.listen.http });
}

const isLoopback = (h: string) => /^(127\.|localhost$|::1$)/.test(h);

/**
 * Where users really arrive: https when the proxy terminates TLS. On a loopback address the
 * certificate is not checked (we are talking to our own proxy, often with a self-signed one).
 */
export function publicEntry(config: Config): { endpoint: Endpoint; tls?: HttpRequestOptions['tls'] } {
  const listen = config.proxy.listen as { host: string; http: number; https?: number };
  const host = loopbackHost(listen.host);
  if (listen.https === undefined) return { endpoint: { host, port: listen.http } };
  return { endpoint: { host, port: listen.https }, tls: { rejectUnauthorized: !isLoopback(host) } };
}

export async function verifyPublic(
  config: Config,
  colour: Colour,
  timeoutMs: number,
  signal?: AbortSignal,
  /** Another public entry than the config's (a swarm edge node's published port; plain HTTP). */
  at?: Endpoint,
): Promise<number> {
  const { endpoint, tls } = at ? { endpoint: at, tls: undefined } : publicEntry(config);
  const path = verifyPath(config);
  const url = urlOf(endpoint, path, tls ? 'https' : 'http');
  // Monotonic: a wall clock that jumps must neither cut the wait short nor stretch it.
  const started = performance.now();
  let last = 'no response yet';
  while (performance.now() - started < timeoutMs) {
    signal?.throwIfAborted();
    try {
      // node:http, one connection per probe: nothing pooled outlives the check.
      const res = await httpRequest({ endpoint, path, tls, timeoutMs: 2000, signal });
      const env = res.headers['x-switchyard-env'];
      if (env === colour && res.status < 500) return Math.round(performance.now() - started);
      last = `HTTP ${res.status} from ${env ?? 'no colour header'}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new SwitchyardError(
    'SWITCH_FAILED',
    `${url} did not answer from ${colour} within ${timeoutMs} ms (last: ${last})`,
  );
}
