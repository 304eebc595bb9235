/**
 * Real tiny backends for the proxy tests: a node:http server per colour (with a ws server on the
 * same port) that reports who answered and what it received. 127.0.0.1 only.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface TestBackend {
  colour: string;
  port: number;
  /** Requests received so far, by path (without query). */
  hits: Map<string, number>;
  /** Resolves the next time a request for `path` arrives. */
  arrived(path: string): Promise<void>;
  /** Lets a pending /hold request finish. */
  release(): void;
  /** WebSocket connections the backend has open, and the close codes it received. */
  sockets: Set<WebSocket>;
  closeCodes: number[];
  /** TCP connections currently open to this backend (the proxy's pooled ones included). */
  connections(): Promise<number>;
  close(): Promise<void>;
}

export async function startBackend(colour: string): Promise<TestBackend> {
  const hits = new Map<string, number>();
  const waiters = new Map<string, Array<() => void>>();
  let releases: Array<() => void> = [];
  const sockets = new Set<WebSocket>();
  const closeCodes: number[] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    for (const w of waiters.get(url.pathname) ?? []) w();
    waiters.delete(url.pathname);
    const json = (status: number, value: unknown, extra: Record<string, string> = {}) => {
      const body = JSON.stringify(value);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...extra,
      });
      res.end(body);
    };
    if (url.pathname.endsWith('/slow')) {
      const t = setTimeout(() => json(200, { colour, slow: true }), Number(url.searchParams.get('ms') ?? 1000));
      res.on('close', () => clearTimeout(t));
      return;
    }
    if (url.pathname.endsWith('/hold')) {
      // A streamed response: one chunk now, the rest only when the test releases it.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first\n');
      releases.push(() => res.end('last\n'));
      return;
    }
    if (url.pathname.endsWith('/events')) {
      // Server-Sent Events: an event every 100 ms until the client (or the proxy) ends it.
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('retry: 100\n\n');
      let n = 0;
      const t = setInterval(() => res.write(`data: ${colour} ${++n}\n\n`), 100);
      res.on('close', () => clearInterval(t));
      return;
    }
    if (url.pathname.endsWith('/hop')) {
      return json(
        200,
        { colour },
        { connection: 'keep-alive, X-Hop-Resp', 'x-hop-resp': 'secret', 'keep-alive': 'timeout=5', 'x-keep': 'yes' },
      );
    }
    if (req.method === 'POST') {
      let size = 0;
      req.on('data', (c: Buffer) => (size += c.length));
      req.on('end', () => json(200, { colour, received: size }));
      return;
    }
    json(200, { colour, method: req.method, url: req.url, headers: req.headers });
  });

  const wss = new WebSocketServer({
    server,
    handleProtocols: (offered) => (offered.has('chat.v2') ? 'chat.v2' : ([...offered][0] ?? false)),
  });
  wss.on('connection', (ws, req) => {
    sockets.add(ws);
    ws.on('close', (code) => {
      sockets.delete(ws);
      closeCodes.push(code);
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? data : `${colour}:${data.toString()}`;
      if (!isBinary && data.toString() === 'close-me') return ws.close(4001, 'asked');
      ws.send(text, { binary: isBinary });
    });
    ws.send(`hello from ${colour} ${req.url} ${req.headers['x-forwarded-for'] ?? ''}`);
  });

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    colour,
    port: (server.address() as AddressInfo).port,
    hits,
    sockets,
    closeCodes,
    connections: () => new Promise<number>((r, j) => server.getConnections((e, n) => (e ? j(e) : r(n)))),
    arrived: (path) => new Promise<void>((r) => waiters.set(path, [...(waiters.get(path) ?? []), r])),
    release: () => {
      const all = releases;
      releases = [];
      for (const f of all) f();
    },
    close: async () => {
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A raw backend that answers the first request of each connection with keep-alive, then resets the
 * connection when a second request arrives on it: the keep-alive reuse race, made deterministic.
 */
export async function startResettingBackend(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let connections = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    let answered = false;
    let buf = '';
    socket.on('data', (d) => {
      if (answered) {
        socket.resetAndDestroy();
        return;
      }
      buf += d.toString('latin1');
      if (!buf.includes('\r\n\r\n')) return;
      answered = true;
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60\r\n\r\nok',
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port that was free a moment ago (nothing listens on it). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Something listening on a port of its own (to make a port "in use"); close() frees it. */
export async function squat(): Promise<{ port: number; close: () => Promise<void> }> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return { port: (s.address() as AddressInfo).port, close: () => new Promise((r) => s.close(() => r())) };
}

/** A simple request through Node's http client; returns status, headers and the whole body. */
export function get(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; socketPath?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Polls `check` every 20 ms until it is true; false when `timeoutMs` passed first. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}
