// The child processes the throughput benchmarks measure: a trivial backend, the built-in proxy in
// front of it, and a bare forwarder (the floor of the built-in proxy's design). Each reports its
// port to the parent over IPC and exits when the parent goes.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const body = JSON.stringify({ status: 'ok', env: 'blue' });

export function serveBackend() {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
}

/** The built-in proxy from dist/ (or src/ under tsx with `src: true`), routing / to the backend. */
export async function serveBuiltinProxy({ root, backendPort, src = false }) {
  const file = src ? 'src/proxy/builtin/server.ts' : 'dist/proxy/builtin/server.js';
  const { ProxyServer } = await import(pathToFileURL(path.join(root, file)).href);
  const proxy = await ProxyServer.start({
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ path: '/', service: 'app' }],
    backends: { blue: { app: { host: '127.0.0.1', port: backendPort } } },
    active: 'blue',
  });
  process.send({ port: proxy.address.port });
  process.on('disconnect', async () => {
    await proxy.close(1000);
    process.exit(0);
  });
}

/**
 * The floor of the built-in proxy's design, for comparison only: Node's HTTP server handing each
 * request to an undici Pool with the same low-level dispatch API, and nothing else (no routing, no
 * header rewriting, no X-Forwarded-*, no counting, no limits, no error pages). Whatever the
 * built-in proxy costs beyond this is its features; what this costs is Node and undici.
 */
export async function serveBareForwarder({ root, backendPort }) {
  const { Pool } = await import(pathToFileURL(path.join(root, 'node_modules', 'undici', 'index.js')).href);
  const pool = new Pool(`http://127.0.0.1:${backendPort}`, { connections: 128, keepAliveTimeout: 60_000 });
  const server = http.createServer((req, res) => {
    pool.dispatch(
      { path: req.url, method: req.method, headers: req.rawHeaders, body: null },
      {
        onConnect() {},
        onHeaders(status, raw, _resume, text) {
          const headers = [];
          for (let i = 0; i < raw.length; i += 2)
            headers.push(raw[i].toString('latin1'), raw[i + 1].toString('latin1'));
          res.writeHead(status, text, headers);
          return true;
        },
        onData: (chunk) => res.write(chunk),
        onComplete: () => res.end(),
        onError: () => {
          res.statusCode = 502;
          res.end();
        },
      },
    );
  });
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
}

/**
 * The real proxy daemon, `switchyard proxy` from dist/switchyard.mjs, as init starts it, in a temp
 * project folder whose saved state routes / to the backend: with `workers` > 1 it forks that many
 * workers (proxy.workers); with `metricsPort` it serves Prometheus metrics there (proxy.metrics).
 * Resolves once the port answers; `stop()` shuts it down (SIGTERM) and removes the folder.
 */
export async function startDaemon({ root, backendPort, port, workers, metricsPort }) {
  const { spawn } = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-daemon-'));
  fs.mkdirSync(path.join(dir, '.switchyard'), { mode: 0o700 });
  const snap = {
    listen: { host: '127.0.0.1', port },
    routes: [{ path: '/', service: 'app' }],
    backends: { blue: { app: { host: '127.0.0.1', port: backendPort } } },
    active: 'blue',
    workers,
    ...(metricsPort === undefined ? {} : { metrics: { host: '127.0.0.1', port: metricsPort } }),
  };
  fs.writeFileSync(path.join(dir, '.switchyard', 'proxy.json'), JSON.stringify(snap));
  const child = spawn(process.execPath, [path.join(root, 'dist', 'switchyard.mjs'), 'proxy', '--project', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise((resolve) => {
      const req = http.get(
        { host: '127.0.0.1', port, path: '/' },
        (res) => (res.resume(), resolve(res.statusCode === 200)),
      );
      req.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`the proxy daemon (${workers} workers) did not serve on 127.0.0.1:${port} within 15 s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
