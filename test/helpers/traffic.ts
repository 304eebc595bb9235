/**
 * Requests for the canary/preview/maintenance tests: one request with chosen headers or a chosen
 * local (source) address on loopback, and counting which colour answered. Loopback only.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  colour: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The first Set-Cookie the proxy sent, if any. */
  setCookie: string | undefined;
}

/**
 * One request on its own connection (or on `agent`'s); `from` picks the source address (e.g.
 * 127.0.0.2: another client for the proxy).
 */
export function request(
  port: number,
  path = '/',
  opts: { method?: string; headers?: Record<string, string>; body?: string; from?: string; agent?: http.Agent } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        agent: opts.agent ?? false,
        ...(opts.from ? { localAddress: opts.from } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const c = res.headers['x-switchyard-env'];
          resolve({
            status: res.statusCode ?? 0,
            colour: typeof c === 'string' ? c : undefined,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            setCookie: res.headers['set-cookie']?.[0],
          });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const get = request;

/**
 * `n` cookie-less requests, `parallel` at a time; how many each colour answered (non-2xx counted
 * under "HTTP <status>").
 */
export async function shares(port: number, path: string, n: number, parallel = 8): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const a = await get(port, path);
      const key = a.status >= 200 && a.status < 300 ? (a.colour ?? 'none') : `HTTP ${a.status}`;
      out[key] = (out[key] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return out;
}

/** The name=value part of the sticky Set-Cookie the proxy gave, if any. */
export function stickyCookie(a: Pick<Answer, 'headers'>, name = 'sy_canary'): string | undefined {
  return (a.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!.trim()).find((c) => c.startsWith(`${name}=`));
}
