/**
 * One bounded HTTP request to a colour's endpoint (plain http, usually 127.0.0.1). node:http with
 * no agent, so no pooled keep-alive socket outlives a check or hides a restarted process.
 */
import http from 'node:http';
import https from 'node:https';
import type { Endpoint } from '../runtime/types.js';

export interface HttpResult {
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyText: string;
}

export interface HttpRequestOptions {
  endpoint: Endpoint;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** https instead of http; `rejectUnauthorized: false` only for our own proxy on loopback. */
  tls?: { rejectUnauthorized: boolean };
}

/** Bodies beyond this are cut: checks look at small JSON or the start of an HTML page. */
const MAX_BODY_BYTES = 1024 * 1024;

export class HttpCheckError extends Error {
  override name = 'HttpCheckError';
}

function abortMessage(signal: AbortSignal): string {
  const reason = signal.reason as { name?: string } | undefined;
  return reason?.name === 'TimeoutError' ? 'no answer before the overall timeout' : 'cancelled';
}

export function urlOf(e: Endpoint, path = '', scheme = 'http'): string {
  const host = e.host.includes(':') ? `[${e.host}]` : e.host;
  return `${scheme}://${host}:${e.port}${path}`;
}

export function httpRequest(o: HttpRequestOptions): Promise<HttpResult> {
  const target = `${o.method ?? 'GET'} ${urlOf(o.endpoint, o.path, o.tls ? 'https' : 'http')}`;
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new HttpCheckError(`${target}: ${abortMessage(o.signal)}`));
    let settled = false;
    let req: http.ClientRequest | undefined;
    const finish = (err: Error | undefined, res?: HttpResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req?.destroy();
        reject(err);
      } else resolve(res as HttpResult);
    };
    const onAbort = () => finish(new HttpCheckError(`${target}: ${abortMessage(o.signal as AbortSignal)}`));
    const timer = setTimeout(
      () => finish(new HttpCheckError(`${target}: no answer within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const headers: Record<string, string | number> = { ...o.headers };
    if (o.body !== undefined) headers['content-length'] = Buffer.byteLength(o.body);
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(c);
        size += c.length;
      });
      res.on('error', (e) => finish(new HttpCheckError(`${target}: ${e.message}`)));
      res.on('end', () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers))
          if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
        finish(undefined, {
          status: res.statusCode ?? 0,
          headers: h,
          bodyText: Buffer.concat(chunks).toString('utf8'),
        });
      });
    };
    const options = {
      host: o.endpoint.host,
      port: o.endpoint.port,
      method: o.method ?? 'GET',
      path: o.path,
      headers,
      agent: false as const,
    };
    try {
      // Throws at once for a header value or path Node will not send (CR/LF, NUL, unescaped
      // characters), e.g. from a value a smoke step captured: a failed check, never a crash.
      req = o.tls
        ? https.request({ ...options, rejectUnauthorized: o.tls.rejectUnauthorized }, onResponse)
        : http.request(options, onResponse);
    } catch (e) {
      finish(new HttpCheckError(`${target}: cannot send this request: ${(e as Error).message}`));
      return;
    }
    req.on('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'ECONNREFUSED'
          ? 'connection refused (nothing listening)'
          : e.code === 'ECONNRESET'
            ? 'connection reset'
            : e.message;
      finish(new HttpCheckError(`${target}: ${why}`));
    });
    req.end(o.body);
  });
}
