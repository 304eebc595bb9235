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
}

/** One request on a fresh connection; `from` picks the source address (e.g. 127.0.0.2: another client for the proxy). */
export function get(port: number, path: string, opts: { headers?: Record<string, string>; from?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: opts.headers ?? {}, agent: false, ...(opts.from ? { localAddress: opts.from } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const c = res.headers['x-switchyard-env'];
        resolve({ status: res.statusCode ?? 0, colour: typeof c === 'string' ? c : undefined, headers: res.headers, body });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** `n` cookie-less requests, `parallel` at a time; how many each colour answered (non-2xx counted under "HTTP <status>"). */
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

/** The Set-Cookie pair (name=value) the proxy gave, if any. */
export function cookieOf(a: Answer, name: string): string | undefined {
  const sc = a.headers['set-cookie'] ?? [];
  const hit = sc.map((c) => c.split(';')[0]!.trim()).find((c) => c.startsWith(`${name}=`));
  return hit;
}
