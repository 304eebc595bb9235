/**
 * `proxy.metrics` with nginx (docs/traffic.md#metrics): a server of its own on the metrics address
 * that serves nginx's stub_status page at `GET /stub_status` (404 on any other path), for
 * nginx-prometheus-exporter (`--nginx.scrape-uri=http://HOST:PORT/stub_status`). It costs nothing
 * per proxied request: nginx keeps these counters anyway. What the page holds is nginx's whole
 * server, all colours and routes together: connections (accepted, handled, open, and what the open
 * ones are doing) and the total number of requests. Per-colour figures from open-source nginx
 * would need a log line per request or a reload; see the docs.
 *
 * Also the page's parser, for tests and for anyone reading the page from code.
 */
import net from 'node:net';
import type { MetricsConfig } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { hostPort } from './syntax.js';

/** Where the page is served on the metrics listener. */
export const STUB_STATUS_PATH = '/stub_status';

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/;

/** The metrics listener's address, checked again before it goes into `listen` (the schema only asks for a string). */
function checkListen(listen: { host: string; port: number }): { host: string; port: number } {
  const { host, port } = listen;
  const fix = { hint: 'fix proxy.metrics.listen in switchyard.yml' };
  if (net.isIP(host) === 0 && !HOSTNAME.test(host))
    throw new SwitchyardError(
      'PROXY_FAILED',
      `nginx cannot use proxy.metrics.listen.host ${JSON.stringify(host)}: expected an IP address or a host name`,
      fix,
    );
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new SwitchyardError('PROXY_FAILED', `nginx cannot use proxy.metrics.listen.port ${port}`, fix);
  return listen;
}

/**
 * The server block for proxy.metrics (none when it is absent). Only the exact path answers; any
 * other is nginx's 404, never a file and never a backend. Not logged: a scrape every few seconds
 * is no traffic. stub_status itself answers 405 to a method other than GET or HEAD.
 */
export function stubStatusServer(metrics: MetricsConfig | undefined): string[] {
  if (metrics === undefined) return [];
  const { host, port } = checkListen(metrics.listen);
  return [
    "  # proxy.metrics: nginx's stub_status for nginx-prometheus-exporter (the whole server, all colours together).",
    '  server {',
    `    listen ${hostPort(host, port)};`,
    '    access_log off;',
    `    location = ${STUB_STATUS_PATH} {`,
    '      stub_status;',
    '    }',
    '    location / {',
    '      return 404;',
    '    }',
    '  }',
  ];
}

/** The figures of a stub_status page (ngx_http_stub_status_module). All counts since nginx started. */
export interface StubStatus {
  /** Client connections open now, idle ones (waiting) included. */
  active: number;
  /** Client connections accepted. */
  accepts: number;
  /** Client connections handled (below accepts only when a limit such as worker_connections was hit). */
  handled: number;
  /** Client requests, on every listener of this nginx (the metrics one included). */
  requests: number;
  /** Connections where nginx is reading the request header. */
  reading: number;
  /** Connections where nginx is writing the response (the scrape itself is one). */
  writing: number;
  /** Idle keep-alive connections. */
  waiting: number;
}

/**
 * The page is fixed text (ngx_http_stub_status_module.c); every line ends with a space:
 *
 *     Active connections: 2
 *     server accepts handled requests
 *      16 16 31
 *     Reading: 0 Writing: 1 Waiting: 1
 */
const PAGE = new RegExp(
  [
    /^Active connections: (\d+) *\r?\n/.source,
    /server accepts handled requests *\r?\n/.source,
    / *(\d+) (\d+) (\d+) *\r?\n/.source,
    /Reading: (\d+) Writing: (\d+) Waiting: (\d+) *(?:\r?\n)?$/.source,
  ].join(''),
);

/** Parses a stub_status page; throws when the text is not one (a proxy's error page, a truncated answer). */
export function parseStubStatus(text: string): StubStatus {
  const m = PAGE.exec(text);
  if (!m) {
    const start = JSON.stringify(text.slice(0, 80));
    throw new Error(`not an nginx stub_status page: ${start}${text.length > 80 ? '...' : ''}`);
  }
  const n = m.slice(1).map((s) => Number(s));
  if (!n.every((x) => Number.isSafeInteger(x))) throw new Error('nginx stub_status page: a count past 2^53');
  const [active, accepts, handled, requests, reading, writing, waiting] = n as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { active, accepts, handled, requests, reading, writing, waiting };
}
