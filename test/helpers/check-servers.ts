/** Real tiny HTTP servers on 127.0.0.1:0 for the health and smoke tests (no mocking). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.ts';
import type { Endpoint } from '../../src/runtime/types.ts';

export interface TestServer {
  endpoint: Endpoint;
  url: string;
  /** Requests seen, as "METHOD /path". */
  seen: string[];
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

export async function startServer(handler: Handler): Promise<TestServer> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      handler(req, Buffer.concat(chunks).toString('utf8'), res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: { host: '127.0.0.1', port },
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** The guide's API: health with database status, request-code / verify login flow, CORS. */
export function apiServer(state: { health?: string; database?: string; devCode?: string } = {}): Promise<TestServer> {
  const code = state.devCode ?? '424242';
  return startServer((req, body, res) => {
    const url = req.url ?? '/';
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-origin': '*', 'access-control-allow-methods': 'GET,POST' });
      return res.end();
    }
    if (url === '/api/health')
      return sendJson(res, 200, { status: state.health ?? 'ok', database: state.database ?? 'connected' });
    if (url === '/api/auth/request-code' && req.method === 'POST')
      return sendJson(res, 200, { sent: true, devCode: code });
    if (url === '/api/auth/verify' && req.method === 'POST') {
      const { email, code: given } = JSON.parse(body || '{}') as { email?: string; code?: string };
      if (req.headers['content-type'] !== 'application/json') return sendJson(res, 415, { error: 'json only' });
      return given === code && email
        ? sendJson(res, 200, { token: `tok-${email}`, user: { email } })
        : sendJson(res, 401, { error: 'bad code' });
    }
    if (url === '/api/me') {
      const auth = req.headers.authorization ?? '';
      return auth.startsWith('Bearer tok-')
        ? sendJson(res, 200, { email: auth.slice('Bearer tok-'.length) })
        : sendJson(res, 401, { error: 'no token' });
    }
    if (url.startsWith('/api/boom')) return sendJson(res, 502, { error: 'bad gateway' });
    sendJson(res, 404, { error: 'not found' });
  });
}

/** A frontend: HTML on every path (or plain text when `html` is false). */
export function webServer(opts: { html?: boolean; status?: number } = {}): Promise<TestServer> {
  return startServer((_req, _body, res) => {
    res.writeHead(opts.status ?? 200, {
      'content-type': opts.html === false ? 'text/plain' : 'text/html; charset=utf-8',
    });
    res.end(opts.html === false ? 'hello' : '<!doctype html><title>shop</title><div id="root"></div>');
  });
}

/** Health alternates 200 / 500 on every request. */
export function flappingServer(): Promise<TestServer> {
  let n = 0;
  return startServer((_req, _body, res) =>
    n++ % 2 === 0 ? sendJson(res, 200, { status: 'ok' }) : sendJson(res, 500, { status: 'error' }),
  );
}

/** 503 until `afterMs` have passed since it started, then 200. */
export function slowStartServer(afterMs: number): Promise<TestServer> {
  const t0 = Date.now();
  return startServer((_req, _body, res) =>
    Date.now() - t0 >= afterMs ? sendJson(res, 200, { status: 'ok' }) : sendJson(res, 503, { status: 'starting' }),
  );
}

/** Accepts connections and requests but never answers. */
export function silentServer(): Promise<TestServer> {
  return startServer(() => {});
}

/** A valid config for two services (api on /api, web on /), with overrides merged in. */
export function checkConfig(
  extra: {
    services?: ConfigInput['services'];
    checks?: ConfigInput['checks'];
    routes?: ConfigInput['proxy']['routes'];
  } = {},
): Config {
  return configSchema.parse({
    app: 'shop',
    proxy: {
      listen: { http: 8080 },
      routes: extra.routes ?? [
        { path: '/api', service: 'api' },
        { path: '/', service: 'web' },
      ],
    },
    services: extra.services ?? {
      api: { command: 'node api.js', health: { path: '/api/health', expect: { status: 200, json: { status: 'ok' } } } },
      web: { command: 'node web.js', health: { path: '/', expect: { contentType: 'text/html' } } },
    },
    checks: { interval: '50ms', requestTimeout: '2s', ...extra.checks },
  });
}
