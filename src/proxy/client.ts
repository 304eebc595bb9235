/** The client side of the proxy daemon's control socket (see builtin/control.ts for the protocol). */
import http from 'node:http';
import type { Colour, Route } from '../config/schema.js';
import { SwitchyardError, type ErrorCode } from '../errors.js';
import { isTrafficStats, type TrafficStats } from './stats.js';
import type { Backends, ConfigureOptions, DrainOptions, DrainResult, ProxyControl, ProxyStatus } from './types.js';

export const CONTROL_TIMEOUT_MS = 5_000;
/** Extra time a drain call waits beyond the drain's own timeout, for the answer to arrive. */
export const DRAIN_MARGIN_MS = 5_000;

export interface ProxyClientOptions {
  timeoutMs?: number;
}

/** Where the control API is: the daemon's unix socket, or a TCP address with its token (the swarm edge). */
export type ControlTarget = string | { host: string; port: number; token: string; name?: string };

const describeTarget = (t: ControlTarget): string => (typeof t === 'string' ? t : (t.name ?? `${t.host}:${t.port}`));

function call<T>(
  target: ControlTarget,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string | number> =
      payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    if (typeof target !== 'string') headers.authorization = `Bearer ${target.token}`;
    const where = typeof target === 'string' ? { socketPath: target } : { host: target.host, port: target.port };
    const req = http.request({ ...where, method, path, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy(new SwitchyardError('TIMEOUT', `the proxy did not answer ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(
        err instanceof SwitchyardError
          ? err
          : new SwitchyardError('PROXY_FAILED', `cannot reach the proxy at ${describeTarget(target)}: ${err.message}`, {
              cause: err,
            }),
      );
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => {});
      res.on('end', () => {
        clearTimeout(timer);
        let value: unknown;
        try {
          value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          reject(
            new SwitchyardError(
              'PROXY_FAILED',
              `the proxy gave an unreadable answer to ${path} (HTTP ${res.statusCode})`,
            ),
          );
          return;
        }
        const err = (value as { error?: { code?: ErrorCode; message?: string; hint?: string } }).error;
        if (res.statusCode !== 200 || err !== undefined) {
          const message = err?.message ?? `the proxy answered ${path} with HTTP ${res.statusCode}`;
          const opts = err?.hint === undefined ? {} : { hint: err.hint };
          reject(new SwitchyardError(err?.code ?? 'PROXY_FAILED', message, opts));
        } else {
          resolve(value as T);
        }
      });
    });
    req.end(payload);
  });
}

export interface ProxyClient extends ProxyControl {
  shutdown(): Promise<void>;
}

export function proxyClient(socketPath: ControlTarget, opts: ProxyClientOptions = {}): ProxyClient {
  const t = opts.timeoutMs ?? CONTROL_TIMEOUT_MS;
  return {
    status: () => call<ProxyStatus>(socketPath, 'GET', '/status', undefined, t),
    configure: async (routes: Route[], o: ConfigureOptions = {}) =>
      void (await call(socketPath, 'POST', '/configure', { routes, ...o }, t)),
    setBackends: async (colour: Colour, backends: Backends) =>
      void (await call(socketPath, 'POST', '/backends', { colour, backends }, t)),
    switchTo: async (colour: Colour) => void (await call(socketPath, 'POST', '/switch', { colour }, t)),
    setWeight: async (colour: Colour, percent: number) =>
      void (await call(socketPath, 'POST', '/weight', { colour, percent }, t)),
    setMaintenance: async (m: { on: true; message?: string } | { on: false }) =>
      void (await call(socketPath, 'POST', '/maintenance', m, t)),
    setWatch: async (on: boolean) => void (await call(socketPath, 'POST', '/watch', { on }, t)),
    stats: async () => {
      const s = await call<unknown>(socketPath, 'GET', '/stats', undefined, t);
      if (!isTrafficStats(s))
        throw new SwitchyardError('PROXY_FAILED', 'the proxy gave an unreadable answer to /stats');
      return s as TrafficStats;
    },
    drain: (colour: Colour, timeoutMs: number, opts: DrainOptions = {}) =>
      call<DrainResult>(socketPath, 'POST', '/drain', { colour, timeoutMs, ...opts }, timeoutMs + DRAIN_MARGIN_MS),
    shutdown: async () => void (await call(socketPath, 'POST', '/shutdown', {}, t)),
  };
}

/** The daemon's status when one answers on the socket, else undefined (never throws). */
export async function proxyAlive(socketPath: string, timeoutMs = 1_000): Promise<ProxyStatus | undefined> {
  try {
    return await call<ProxyStatus>(socketPath, 'GET', '/status', undefined, timeoutMs);
  } catch {
    return undefined;
  }
}
