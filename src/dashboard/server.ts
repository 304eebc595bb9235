/**
 * `switchyard dashboard`'s HTTP server (node:http): the page and its assets, the live feed
 * (GET /api/events) and the actions (POST /api/actions/<name>, token and same origin only).
 * Every answer carries a Content-Security-Policy that allows nothing but the dashboard itself.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../errors.js';
import type { Engine } from '../run/context.js';
import { isAction, runAction } from './actions.js';
import { contentType, loadAssets, resolveAsset, type Assets } from './assets.js';
import { HttpError, MAX_BODY_BYTES, parseJsonBody, readLimited } from './body.js';
import { EventHub, Feed } from './events.js';
import { hostAllowed, hostInUrl, originAllowed, ownHosts, tokenMatches } from './security.js';

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface DashboardOptions {
  host: string;
  port: number;
  token: string;
  /** The built front end (dist/dashboard/assets). */
  assetDir: string;
}

export interface Dashboard {
  url: string;
  port: number;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export async function startDashboard(engine: Engine, opts: DashboardOptions): Promise<Dashboard> {
  const assets: Assets = loadAssets(opts.assetDir);
  const hub = new EventHub();
  const feed = new Feed(engine, hub);
  let own: Set<string> | undefined;
  let listening = false;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!listening) return send(res, 503, { error: 'starting' });
    if (!hostAllowed(req.headers.host, own)) return send(res, 403, { error: 'unknown Host' });
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const p = url.pathname;
    if (p.startsWith('/api/actions/')) {
      if (req.method !== 'POST') return send(res, 405, { error: 'POST only' }, { allow: 'POST' });
      const name = p.slice('/api/actions/'.length);
      if (!isAction(name)) return send(res, 404, { error: `no action ${JSON.stringify(name)}` });
      if (!originAllowed(req.headers.origin, req.headers.host, own))
        return send(res, 403, { error: 'the Origin header must be the dashboard itself' });
      if (!tokenMatches(opts.token, req.headers.authorization))
        return send(res, 401, { error: 'a valid token is needed (Authorization: Bearer <token>)' });
      const raw = await readLimited(req, MAX_BODY_BYTES, req.headers['content-length']);
      const body = parseJsonBody(raw, req.headers['content-type']);
      const r = await runAction(engine, name, body);
      await feed.refresh();
      return send(res, r.status, r.body);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'GET only' }, { allow: 'GET' });
    if (p === '/api/events') {
      hub.add(res, [
        ['view', feed.view ?? null],
        ['operation', feed.operation],
        ['series', feed.series.points],
        ['health', feed.health],
        ['timeline', feed.timeline],
      ]);
      return;
    }
    if (p === '/api/view') return send(res, 200, feed.view ?? null);
    const name = resolveAsset(p, assets.names);
    if (!name) return send(res, 404, { error: 'not found' });
    const data = await assets.read(name);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': contentType(name),
      'content-length': String(data.length),
      'cache-control': name === 'index.html' ? 'no-store' : 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) send(res, status, { error: engine.redact(errorMessage(err)) }, { connection: 'close' });
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  own = ownHosts(opts.host, port);
  listening = true;
  await feed.start();
  const shown = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${hostInUrl(shown)}:${port}/`,
    port,
    close: async () => {
      feed.stop();
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
