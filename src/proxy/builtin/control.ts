/**
 * The control API: JSON over HTTP on a unix socket that only the owner can open (mode 0600).
 * It is a separate server from the public one, so nothing on the public port can reach it.
 *
 *   GET  /status                                         -> ProxyStatus
 *   GET  /stats                                          -> TrafficStats
 *   POST /configure    { routes, maxBodySize?, features? } -> { ok: true }
 *   POST /backends     { colour, backends }              -> { ok: true }
 *   POST /switch       { colour }                        -> { ok: true }
 *   POST /weight       { colour, percent }               -> { ok: true }  (percent 0..99, 0 ends the split)
 *   POST /maintenance  { on, message? }                  -> { ok: true }
 *   POST /watch        { on }                            -> { ok: true }
 *   POST /drain        { colour, timeoutMs }             -> DrainResult
 *   POST /shutdown                                       -> { ok: true }, then the daemon stops
 * Errors: { error: { code, message, hint? } } with status 400 (bad call) or 500; 401 without the token
 * (the TCP channel of the swarm edge proxy, startTcpControlServer).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import { isSwitchyardError, SwitchyardError } from '../../errors.js';
import type { ProxyControl } from '../types.js';

const MAX_BODY = 1024 * 1024;

function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('control request too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let v: unknown;
      try {
        v = text === '' ? {} : JSON.parse(text);
      } catch (e) {
        reject(
          new SwitchyardError(
            'PROXY_FAILED',
            `invalid control request: the body is not JSON (${e instanceof Error ? e.message : String(e)})`,
          ),
        );
        return;
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        reject(new SwitchyardError('PROXY_FAILED', 'invalid control request: expected a JSON object'));
      else resolve(v as Record<string, unknown>);
    });
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(
  proxy: ProxyControl,
  req: http.IncomingMessage,
  onShutdown: () => void,
): Promise<[number, unknown]> {
  const route = `${req.method} ${req.url}`;
  if (route === 'GET /status') return [200, await proxy.status()];
  if (route === 'GET /stats') return [200, await proxy.stats()];
  if (req.method !== 'POST')
    return [404, { error: { code: 'PROXY_FAILED', message: `unknown control call ${route}` } }];
  const body = await readBody(req);
  switch (req.url) {
    case '/configure':
      await proxy.configure(body.routes as never, {
        ...(body.maxBodySize === undefined ? {} : { maxBodySize: body.maxBodySize as never }),
        ...(body.features === undefined ? {} : { features: body.features as never }),
      });
      return [200, { ok: true }];
    case '/backends':
      await proxy.setBackends(body.colour as never, body.backends as never);
      return [200, { ok: true }];
    case '/switch':
      await proxy.switchTo(body.colour as never);
      return [200, { ok: true }];
    case '/weight':
      // Both checked by the proxy (colour, integer 0..99): bad values are a 400 with the reason.
      await proxy.setWeight(body.colour as never, body.percent as never);
      return [200, { ok: true }];
    case '/maintenance':
      if (body.on === false) await proxy.setMaintenance({ on: false });
      else
        await proxy.setMaintenance({
          on: body.on as never,
          ...(body.message === undefined ? {} : { message: body.message as never }),
        });
      return [200, { ok: true }];
    case '/watch':
      await proxy.setWatch(body.on as never);
      return [200, { ok: true }];
    case '/drain':
      return [
        200,
        await proxy.drain(
          body.colour as never,
          Number(body.timeoutMs),
          body.streamGraceMs === undefined ? {} : { streamGraceMs: Number(body.streamGraceMs) },
        ),
      ];
    case '/shutdown':
      // Answer first: the caller waits for the reply, then for the process to go.
      setImmediate(onShutdown);
      return [200, { ok: true }];
    default:
      return [404, { error: { code: 'PROXY_FAILED', message: `unknown control call ${route}` } }];
  }
}

/** The control server: every call handled as above, after `allowed` said yes (the TCP channel's token). */
function controlServer(
  proxy: ProxyControl,
  onShutdown: () => void,
  allowed: (req: http.IncomingMessage) => boolean = () => true,
): http.Server {
  const server = http.createServer((req, res) => {
    if (!allowed(req)) {
      req.resume();
      send(res, 401, {
        error: { code: 'PROXY_FAILED', message: 'the proxy control call was refused: wrong or no token' },
      });
      return;
    }
    handle(proxy, req, onShutdown).then(
      ([status, value]) => send(res, status, value),
      (err: unknown) => {
        if (isSwitchyardError(err)) send(res, 400, { error: { code: err.code, message: err.message, hint: err.hint } });
        else
          send(res, 500, {
            error: { code: 'PROXY_FAILED', message: err instanceof Error ? err.message : String(err) },
          });
      },
    );
  });
  // Drains can legitimately take as long as the caller asked for.
  server.requestTimeout = 0;
  server.headersTimeout = 10_000;
  return server;
}

function listen(server: http.Server, ...args: [string] | [number, string]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(...(args as [number, string]), () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Listens on `socketPath` (which must not exist) and restricts it to the owner right away. */
export async function startControlServer(
  socketPath: string,
  proxy: ProxyControl,
  onShutdown: () => void,
): Promise<http.Server> {
  const server = controlServer(proxy, onShutdown);
  // The umask narrows the window before chmod; chmod then makes 0600 certain whatever the umask.
  const oldMask = process.umask(0o177);
  try {
    await listen(server, socketPath);
  } finally {
    process.umask(oldMask);
  }
  await fs.chmod(socketPath, 0o600);
  return server;
}

/** The bearer token of a TCP control call, compared in constant time. */
export function tokenMatcher(token: string): (req: http.IncomingMessage) => boolean {
  const want = createHash('sha256').update(token).digest();
  return (req) => {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Bearer ')) return false;
    return timingSafeEqual(createHash('sha256').update(h.slice('Bearer '.length)).digest(), want);
  };
}

/**
 * The same API over TCP, for the edge proxy on a swarm node (docs/swarm.md): bound to one address
 * (the node's overlay address, never a public one) and answering only calls that carry the token.
 */
export async function startTcpControlServer(
  at: { host: string; port: number },
  token: string,
  proxy: ProxyControl,
  onShutdown: () => void,
): Promise<http.Server> {
  if (token.length < 16)
    throw new SwitchyardError('PROXY_FAILED', 'the proxy control token is missing or shorter than 16 characters');
  const server = controlServer(proxy, onShutdown, tokenMatcher(token));
  await listen(server, at.port, at.host);
  return server;
}
