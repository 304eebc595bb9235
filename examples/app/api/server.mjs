// Example API (plain Node, no npm dependencies): the endpoints of the blue-green guide.
// Blue and green run this same file side by side and share one store:
//   - PostgreSQL when DATABASE_URL is set (the guide's shared database; store-postgres.mjs, with the
//     driver vendored in vendor/pg.cjs by `npm run build`);
//   - otherwise a JSON file on disk at STORE_PATH (store-json.mjs), shared when both colours run on
//     one machine and point at the same file.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const readVersion = () => {
  try {
    return fs.readFileSync(path.join(here, 'VERSION'), 'utf8').trim();
  } catch {
    return 'unknown';
  }
};
const VERSION = readVersion();
const ENVIRONMENT = process.env.ENVIRONMENT_NAME ?? 'local';
const DEV = process.env.NODE_ENV !== 'production';
const CODE_TTL_MS = 10 * 60_000;
const MAX_BODY = 64 * 1024;
const SLOW_CAP_MS = 10_000;
// A release with a bug, for tests of the canary watch: FAIL_EVERY=N makes every Nth GET request
// (other than /api/health, so health checks still pass) answer 500. Unset or 0: off.
const FAIL_EVERY = Math.max(0, Math.trunc(Number(process.env.FAIL_EVERY) || 0));
let gets = 0;

async function openStore() {
  if (process.env.DATABASE_URL) {
    // Imported only here, so the driver is loaded only when a database is configured.
    const { createPostgresStore } = await import('./store-postgres.mjs');
    return createPostgresStore(process.env.DATABASE_URL);
  }
  // The service runs inside a release snapshot (.switchyard/releases/<id>/api), so a relative
  // STORE_PATH is taken from the project folder switchyard tells us, not from our cwd.
  const file = path.resolve(
    process.env.SWITCHYARD_PROJECT_DIR ?? process.cwd(),
    process.env.STORE_PATH ?? './data/store.json',
  );
  const { createJsonStore } = await import('./store-json.mjs');
  return createJsonStore(file);
}
const store = await openStore();

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type, Authorization',
  'access-control-max-age': '600',
};
function send(res, status, body) {
  res.writeHead(status, { ...CORS, 'content-type': 'application/json', 'x-app-version': VERSION });
  res.end(JSON.stringify(body));
}
function readJson(req) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) return reject(Object.assign(new Error('body too large'), { status: 413 }));
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
      } catch {
        reject(Object.assign(new Error('invalid JSON'), { status: 400 }));
      }
    });
    req.on('error', reject);
  });
}
const validEmail = (e) => typeof e === 'string' && /^[^\s@]+@[^\s@]+$/.test(e) && e.length <= 254;

const routes = {
  'GET /api/health': async (_req, res) =>
    send(res, 200, {
      status: 'ok',
      store: store.kind,
      database: await store.status(),
      environment: ENVIRONMENT,
      version: VERSION,
    }),
  'POST /api/auth/request-code': async (req, res) => {
    const { email } = await readJson(req);
    if (!validEmail(email)) return send(res, 400, { error: 'a valid email is required' });
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await store.saveCode(email.toLowerCase(), code, Date.now() + CODE_TTL_MS);
    // A real app would email the code; outside production we hand it back so smoke tests can log in.
    send(res, 200, DEV ? { ok: true, devCode: code } : { ok: true });
  },
  'POST /api/auth/verify': async (req, res) => {
    const { email, code } = await readJson(req);
    if (!validEmail(email)) return send(res, 400, { error: 'a valid email is required' });
    const token = randomBytes(24).toString('hex');
    const user = await store.verify(email.toLowerCase(), String(code), token);
    if (!user) return send(res, 401, { error: 'invalid or expired code' });
    send(res, 200, { token, user });
  },
  'GET /api/me': async (req, res) => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const session = token ? await store.session(token) : undefined;
    if (!session) return send(res, 401, { error: 'not signed in' });
    send(res, 200, { user: session.user, environment: ENVIRONMENT });
  },
  'GET /api/slow': (_req, res, url) => {
    const ms = Math.min(Math.max(Number(url.searchParams.get('ms')) || 0, 0), SLOW_CAP_MS);
    const t = setTimeout(() => send(res, 200, { slept: ms, environment: ENVIRONMENT, version: VERSION }), ms);
    res.on('close', () => clearTimeout(t));
  },
  'GET /api/events': (_req, res) => {
    res.writeHead(200, {
      ...CORS,
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-app-version': VERSION,
    });
    let n = 0;
    const tick = () => {
      n++;
      res.write(
        `id: ${n}\nevent: tick\ndata: ${JSON.stringify({ n, environment: ENVIRONMENT, version: VERSION })}\n\n`,
      );
      if (n >= 5) return res.end();
      timer = setTimeout(tick, 200);
    };
    let timer = setTimeout(tick, 0);
    res.on('close', () => clearTimeout(timer));
  },
};

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'OPTIONS') {
    res.writeHead(204, CORS);
    return res.end();
  }
  if (FAIL_EVERY && req.method === 'GET' && url.pathname !== '/api/health' && ++gets % FAIL_EVERY === 0)
    return send(res, 500, { error: 'injected failure (FAIL_EVERY)' });
  const handler = routes[`${req.method} ${url.pathname}`];
  try {
    if (handler) return await handler(req, res, url);
    send(res, 404, { error: 'not found', path: url.pathname });
  } catch (e) {
    if (!res.headersSent) send(res, e.status ?? 500, { error: e.status ? e.message : 'internal error' });
    if (!e.status) console.error(`error on ${req.method} ${url.pathname}:`, e);
  }
});

const PORT = Number(process.env.PORT ?? 5000);
const HOST = process.env.HOST ?? '127.0.0.1';
server.listen(PORT, HOST, () =>
  console.log(`api ${VERSION} (${ENVIRONMENT}) listening on ${HOST}:${PORT}, store ${store.describe()}`),
);
// Creates the tables (postgres) in the background: a database that is down does not stop the API,
// /api/health says `database: disconnected` and every request tries again.
void store.init();

// Graceful stop: finish in-flight requests, then exit; bounded so a stuck client cannot hold us.
function shutdown(sig) {
  console.log(`api: ${sig}, closing`);
  server.close(() =>
    store.close().then(
      () => process.exit(0),
      () => process.exit(0),
    ),
  );
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
