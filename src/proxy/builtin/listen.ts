/**
 * The hardened HTTP server both listeners use (the public one and the preview one), and binding
 * it with a clear PORT_IN_USE error naming host:port.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { SwitchyardError } from '../../errors.js';

/** Node checks the headers/request timeouts this often; keep-alive idle time toward clients. */
export const CLIENT_KEEPALIVE_MS = 5_000;
/** Slowloris guard: a client must send its headers within this time. */
export const HEADERS_TIMEOUT_MS = 15_000;
/** A client must finish sending its request (headers + body) within this time. */
export const REQUEST_TIMEOUT_MS = 120_000;
/** How often Node checks the two timeouts above; its default (30 s) would make them very loose. */
const CONNECTIONS_CHECK_MS = 2_000;
/** Request line + headers, as nginx's large_client_header_buffers (4 x 8k) allows roughly; more gets 431. */
export const MAX_HEADER_SIZE = 16 * 1024;

/** Bounds on what a client may send; tests shorten the timeouts. */
export interface ProxyLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** How often the two timeouts are checked: a slow client is cut off within timeout + this. */
  checkIntervalMs: number;
  maxHeaderSize: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  checkIntervalMs: CONNECTIONS_CHECK_MS,
  maxHeaderSize: MAX_HEADER_SIZE,
};

export interface ListenerHandlers {
  request(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): void;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function createListener(limits: ProxyLimits, h: ListenerHandlers): http.Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: CLIENT_KEEPALIVE_MS,
      connectionsCheckingInterval: limits.checkIntervalMs,
      // Set explicitly: NODE_OPTIONS=--insecure-http-parser or --max-http-header-size in the
      // environment the daemon inherits must not loosen the parser (request smuggling, huge headers).
      insecureHTTPParser: false,
      maxHeaderSize: limits.maxHeaderSize,
      requireHostHeader: true,
    },
    (req, res) => h.request(req, res, false),
  );
  // Expect: 100-continue is answered only once the request passed the body size check.
  server.on('checkContinue', (req, res) => h.request(req, res, true));
  server.on('upgrade', (req, socket, head) => h.upgrade(req, socket, head));
  return server;
}

/** Binds `server`; `setting` names the config key to change in the hint (e.g. "proxy.listen"). */
export function bind(server: http.Server, host: string, port: number, what: string, setting: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (err.code === 'EADDRINUSE') {
        reject(
          new SwitchyardError('PORT_IN_USE', `the ${what} cannot listen on ${where}: the port is already in use`, {
            cause: err,
            hint: `stop whatever listens on ${where} or change ${setting} in switchyard.yml`,
          }),
        );
      } else {
        reject(
          new SwitchyardError('PROXY_FAILED', `the ${what} cannot listen on ${where}: ${err.message}`, { cause: err }),
        );
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
