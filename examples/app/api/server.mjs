// Example API (plain Node, no dependencies): the endpoints of the blue-green guide.
// Blue and green run this same file side by side and share one JSON store on disk, which stands
// in for the guide's shared PostgreSQL. Writes go through temp file + rename so a reader (the
// other colour) never sees half a file.
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
// The service runs inside a release snapshot (.switchyard/releases/<id>/api), so a relative
// STORE_PATH is taken from the project folder switchyard tells us, not from our cwd.
const STORE = path.resolve(process.env.SWITCHYARD_PROJECT_DIR ?? process.cwd(), process.env.STORE_PATH ?? './data/store.json');
const CODE_TTL_MS = 10 * 60_000;
const MAX_BODY = 64 * 1024;
const SLOW_CAP_MS = 10_000;

fs.mkdirSync(path.dirname(STORE), { recursive: true });

// Read on every request: the other colour may have written since.
function load() {
  try {
    return { users: {}, codes: {}, tokens: {}, ...JSON.parse(fs.readFileSync(STORE, 'utf8')) };
  } catch (e) {
    if (e.code === 'ENOENT') return { users: {}, codes: {}, tokens: {} };
    throw e;
  }
}
function save(db) {
  const tmp = `${STORE}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(db, null, 2), { mode: 0o600 });
  fs.renameSync(tmp, STORE);
}
function databaseStatus() {
  try {
    fs.accessSync(path.dirname(STORE), fs.constants.R_OK | fs.constants.W_OK);
    load();
    return 'connected';
  } catch {
    return 'disconnected';
  }
}

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
  'GET /api/health': (req, res) => send(res, 200, { status: 'ok', database: databaseStatus(), environment: ENVIRONMENT, version: VERSION }),
  'POST /api/auth/request-code': async (req, res) => {
    const { email } = await readJson(req);
    if (!validEmail(email)) return send(res, 400, { error: 'a valid email is required' });
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const db = load();
    db.codes[email.toLowerCase()] = { code, expiresAt: Date.now() + CODE_TTL_MS };
    save(db);
    // A real app would email the code; outside production we hand it back so smoke tests can log in.
    send(res, 200, DEV ? { ok: true, devCode: code } : { ok: true });
  },
  'POST /api/auth/verify': async (req, res) => {
    const { email, code } = await readJson(req);
    if (!validEmail(email)) return send(res, 400, { error: 'a valid email is required' });
    const key = email.toLowerCase();
    const db = load();
    const entry = db.codes[key];
    if (!entry || entry.expiresAt < Date.now() || String(code) !== entry.code) return send(res, 401, { error: 'invalid or expired code' });
    delete db.codes[key];
    db.users[key] ??= { email: key, createdAt: new Date().toISOString() };
    const token = randomBytes(24).toString('hex');
    db.tokens[token] = { email: key, createdAt: new Date().toISOString() };
    save(db);
    send(res, 200, { token, user: db.users[key] });
  },
  'GET /api/me': (req, res) => {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const db = load();
    const session = token ? db.tokens[token] : undefined;
    if (!session) return send(res, 401, { error: 'not signed in' });
    send(res, 200, { user: db.users[session.email], environment: ENVIRONMENT });
  },
  'GET /api/slow': (req, res, url) => {
    const ms = Math.min(Math.max(Number(url.searchParams.get('ms')) || 0, 0), SLOW_CAP_MS);
    const t = setTimeout(() => send(res, 200, { slept: ms, environment: ENVIRONMENT, version: VERSION }), ms);
    res.on('close', () => clearTimeout(t));
  },
  'GET /api/events': (req, res) => {
    res.writeHead(200, { ...CORS, 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-app-version': VERSION });
    let n = 0;
    const tick = () => {
      n++;
      res.write(`id: ${n}\nevent: tick\ndata: ${JSON.stringify({ n, environment: ENVIRONMENT, version: VERSION })}\n\n`);
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
server.listen(PORT, HOST, () => console.log(`api ${VERSION} (${ENVIRONMENT}) listening on ${HOST}:${PORT}, store ${STORE}`));

// Graceful stop: finish in-flight requests, then exit; bounded so a stuck client cannot hold us.
function shutdown(sig) {
  console.log(`api: ${sig}, closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
