// The child processes the throughput benchmarks measure: a trivial backend and the built-in proxy
// in front of it. Each reports its port to the parent over IPC and exits when the parent goes.
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
