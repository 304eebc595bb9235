/**
 * The proxy daemon's metrics listener (proxy.metrics.listen): `GET /metrics` (and HEAD) in the
 * Prometheus text format, rendered when asked; every other path is 404, every other method 405.
 * It is its own server, apart from the public and preview listeners, with their hardened parser
 * settings and the same PORT_IN_USE error when its port is taken.
 */
import type http from 'node:http';
import { errorMessage } from '../../errors.js';
import { bind, createListener, DEFAULT_LIMITS } from './listen.js';
import type { Listen } from './snapshot.js';
import { rejectUpgrade } from './websocket.js';

export const METRICS_PATH = '/metrics';

/** Renders the page for one scrape (metrics.ts exposition). */
export type RenderMetrics = () => Promise<{ text: string; contentType: string }>;

function reply(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function onRequest(req: http.IncomingMessage, res: http.ServerResponse, render: RenderMetrics): void {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if ((q < 0 ? url : url.slice(0, q)) !== METRICS_PATH) {
    reply(res, 404, `Not Found: the metrics are at ${METRICS_PATH}`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply(res, 405, 'Method Not Allowed: GET or HEAD', { allow: 'GET, HEAD' });
    return;
  }
  render().then(
    ({ text, contentType }) => {
      if (res.destroyed) return;
      res.writeHead(200, {
        'content-type': contentType,
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (err: unknown) => {
      if (!res.destroyed) reply(res, 500, `Internal Server Error: the metrics could not be read: ${errorMessage(err)}`);
    },
  );
}

/** Listens on `at`; fails with PORT_IN_USE naming host:port and proxy.metrics.listen when it is taken. */
export async function startMetricsListener(at: Listen, render: RenderMetrics): Promise<http.Server> {
  const server = createListener(DEFAULT_LIMITS, {
    request: (req, res) => onRequest(req, res, render),
    upgrade: (_req, socket) => {
      socket.on('error', () => socket.destroy());
      rejectUpgrade(socket, 404, `Not Found: the metrics listener serves ${METRICS_PATH} only, without upgrades`);
    },
  });
  await bind(server, at.host, at.port, 'metrics listener', 'proxy.metrics.listen');
  return server;
}

/** Stops the listener and closes its connections (a scrape in progress is cut: the next one goes elsewhere). */
export function closeMetricsListener(server: http.Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return closed;
}
