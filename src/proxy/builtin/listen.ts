/**
 * The hardened HTTP server both listeners use (the public one and the preview one), and binding
 * it with a clear PORT_IN_USE error naming host:port.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { SwitchyardError } from '../../errors.js';
import type { ProxyLimits } from './server.js';

/** Node checks the headers/request timeouts this often; keep-alive idle time toward clients. */
export const CLIENT_KEEPALIVE_MS = 5_000;

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
        reject(new SwitchyardError('PORT_IN_USE', `the ${what} cannot listen on ${where}: the port is already in use`, {
          cause: err,
          hint: `stop whatever listens on ${where} or change ${setting} in switchyard.yml`,
        }));
      } else {
        reject(new SwitchyardError('PROXY_FAILED', `the ${what} cannot listen on ${where}: ${err.message}`, { cause: err }));
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
