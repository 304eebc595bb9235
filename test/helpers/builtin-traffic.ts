/**
 * Helpers for the built-in proxy's canary / preview / maintenance / stats tests: a request that
 * can choose its local address and carry cookies, a bounded parallel runner, a backend that fails
 * on purpose, and a WebSocket probe. Loopback only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';

export { request as hit, type Answer as Hit } from './traffic.js';

/** Runs `n` calls of `fn` with at most `concurrency` at a time; results in call order. */
export async function many<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

/** The id in `sy_canary=<id>; Path=/; ...`. */
export function cookieValue(setCookie: string | undefined, name = 'sy_canary'): string | undefined {
  const m = new RegExp(`^${name}=([^;]*);`).exec(setCookie ?? '');
  return m?.[1];
}

/** A backend that answers 500 to every `failEvery`-th request (counted across all connections), 200 otherwise. */
export async function startFlakyBackend(
  colour: string,
  failEvery: number,
): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    n++;
    const status = n % failEvery === 0 ? 500 : 200;
    const body = JSON.stringify({ colour, n });
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    count: () => n,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Opens a WebSocket through the proxy; resolves with the backend's hello, or the HTTP status of a refused upgrade. */
export function wsHello(
  port: number,
  path: string,
  opts: { headers?: Record<string, string>; from?: string } = {},
): Promise<{ hello?: string; status?: number; body?: string; headers?: http.IncomingHttpHeaders; setCookie?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: opts.headers, localAddress: opts.from });
    let setCookie: string | undefined;
    ws.once('upgrade', (res) => (setCookie = res.headers['set-cookie']?.[0]));
    ws.once('message', (d) => {
      resolve({ hello: d.toString(), ...(setCookie === undefined ? {} : { setCookie }) });
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', () => resolve({ status: res.statusCode ?? 0 }));
    });
    ws.once('error', reject);
  });
}
