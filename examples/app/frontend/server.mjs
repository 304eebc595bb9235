// Example frontend (plain Node, no dependencies): an HTML page that says which colour and version
// answered, plus static files from public/. Stands in for the guide's nginx-served SPA.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const PUBLIC = path.join(here, 'public');
let VERSION = 'unknown';
try {
  VERSION = fs.readFileSync(path.join(here, 'VERSION'), 'utf8').trim();
} catch {
  // keep "unknown": a missing VERSION file should not stop the page
}
const ENVIRONMENT = process.env.ENVIRONMENT_NAME ?? 'local';
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page =
  `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>switchyard example (${escapeHtml(ENVIRONMENT)})</title>
  <link rel="stylesheet" href="/style.css">
</head>
<body class="env-${escapeHtml(ENVIRONMENT)}">
  <main>
    <h1>switchyard example app</h1>
    <p>Served by the <strong id="colour">${escapeHtml(ENVIRONMENT)}</strong> environment, ` +
  `version <strong id="version">${escapeHtml(VERSION)}</strong>.</p>
    <p>API: <code id="api">checking...</code></p>
  </main>
  <script src="/app.js"></script>
</body>
</html>
`;

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'x-app-version': VERSION });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
  if (url.pathname === '/' || url.pathname === '/index.html') return send(res, 200, 'text/html; charset=utf-8', page);
  // Resolve inside public/ only: "/../server.mjs" must not escape it.
  let file;
  try {
    file = path.resolve(PUBLIC, '.' + decodeURIComponent(url.pathname));
  } catch {
    return send(res, 400, 'text/plain', 'bad path\n'); // malformed %-encoding
  }
  if (!file.startsWith(PUBLIC + path.sep)) return send(res, 404, 'text/plain', 'not found\n');
  fs.readFile(file, (err, data) => {
    if (err) return send(res, 404, 'text/plain', 'not found\n');
    send(res, 200, TYPES[path.extname(file)] ?? 'application/octet-stream', data);
  });
});

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST ?? '127.0.0.1';
server.listen(PORT, HOST, () => console.log(`frontend ${VERSION} (${ENVIRONMENT}) listening on ${HOST}:${PORT}`));

function shutdown(sig) {
  console.log(`frontend: ${sig}, closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
