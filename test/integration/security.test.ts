/**
 * Security review, as tests (docs/security.md lists what each one covers):
 * - the built-in proxy against hostile clients over raw sockets on 127.0.0.1: malformed requests
 *   and smuggling attempts get 400 and never reach a backend, also when NODE_OPTIONS asks Node for
 *   its lenient parser; headers past 16 KiB get 431; bodies past proxy.maxBodySize get 413
 *   (announced, chunked, behind Expect: 100-continue); clients that send headers or a body too
 *   slowly are cut off within the bound;
 * - owner-only files: the whole .switchyard tree and the backups after init + backup run with
 *   umask 000 and a world-writable .switchyard made beforehand;
 * - smoke-step header injection through a captured value fails the step cleanly (no crash);
 * - real nginx with the rendered TLS settings: TLS 1.0/1.1 refused, 1.2/1.3 accepted, no DHE or
 *   CBC suites, no version in the Server header.
 * Hop-by-hop stripping and the control API not being on the public port are tested in
 * proxy-routing.test.ts; the 0600 socket in proxy-daemon.test.ts; 0600/0700 backups in backup-*.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { runSmoke } from '../../src/checks/smoke.js';
import { configSchema } from '../../src/config/schema.js';
import { DEFAULT_MAX_BODY_SIZE } from '../../src/config/proxy-schema.js';
import { daemonInProcess } from '../helpers/proxy.js';
import {
  DEFAULT_LIMITS,
  HEADERS_TIMEOUT_MS,
  MAX_HEADER_SIZE,
  ProxyServer,
  REQUEST_TIMEOUT_MS,
  type ProxyLimits,
} from '../../src/proxy/builtin/server.js';
import { saveSnapshot, type ProxySnapshot } from '../../src/proxy/builtin/snapshot.js';
import { proxyAlive, proxyClient } from '../../src/proxy/client.js';
import { ensureProxy } from '../../src/proxy/launch.js';
import { TLS_CIPHERS } from '../../src/proxy/nginx/render.js';
import { projectPaths } from '../../src/state/paths.js';
import { freePort } from '../helpers/backends.js';
import { nginxProject, type NginxProject } from '../helpers/nginx.js';
import { CLI, ROOT } from '../helpers/project.js';
import { budget } from '../helpers/budget.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// A backend that records every request it receives, how many body bytes, and whether it ended.

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  complete: boolean;
}

async function recordingBackend(): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  // Generous header limit: a 431 must come from the proxy, not be relayed from here.
  const server = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bytes: 0, complete: false };
    seen.push(s);
    req.on('data', (c: Buffer) => (s.bytes += c.length));
    req.on('end', () => {
      s.complete = true;
      const body = JSON.stringify({ received: s.bytes, token: 'tok\r\nX-Evil: injected' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    req.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

function snap(backendPort: number, extra: Partial<ProxySnapshot> = {}): ProxySnapshot {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ path: '/', service: 'app' }],
    backends: { blue: { app: [{ host: '127.0.0.1', port: backendPort }] } },
    active: 'blue',
    ...extra,
  };
}

interface Exchange {
  text: string;
  /** ms from connect until the proxy closed the connection; undefined if it was still open at the end. */
  closedAfter: number | undefined;
}

/**
 * A raw client: writes `parts` (a number is a pause in ms), keeps reading, and returns what came
 * back once the server closed the connection or `waitMs` after the last write.
 */
function rawClient(port: number, parts: Array<string | Buffer | number>, waitMs = 1_500): Promise<Exchange> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let text = '';
    let closedAfter: number | undefined;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      sock.destroy();
      resolve({ text, closedAfter });
    };
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', () => {});
    sock.on('close', () => {
      closedAfter ??= performance.now() - t0;
      finish();
    });
    void (async () => {
      for (const p of parts) {
        if (closedAfter !== undefined) break;
        if (typeof p === 'number') await sleep(p);
        else sock.write(p);
      }
      await sleep(waitMs);
      finish();
    })();
  });
}

const statusOf = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

/** Requests Node's strict parser must refuse; the lenient one accepts several of them. */
const MALFORMED: Record<string, string> = {
  'garbage request line': 'GARBAGE\r\n\r\n',
  'unknown HTTP version': 'GET / HTTP/9.9\r\nHost: a\r\n\r\n',
  'control character in a header value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u0001b\r\n\r\n',
  'space in a header name': 'GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n',
  'space before the colon (Transfer-Encoding)':
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
  'Content-Length and Transfer-Encoding (CL.TE smuggling)':
    'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' +
    'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n',
  'two different Content-Lengths': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd',
  'two equal Content-Lengths': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd',
  'Transfer-Encoding chunked, identity':
    'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
  'Transfer-Encoding xchunked': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
  'obsolete line folding': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: a\r\n b\r\n\r\n',
  'bare LF line ends': 'GET / HTTP/1.1\nHost: a\nX-A: b\n\n',
  'no Host header': 'GET / HTTP/1.1\r\n\r\n',
  'CR in the request target': 'GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n',
  'negative Content-Length': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n',
  'Content-Length beyond 2^64': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n',
  'bad chunk size': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
};
const BIG_HEADER = `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(MAX_HEADER_SIZE + 1024)}\r\n\r\n`;

/** The paths the malformed requests name (other tests on the same backend use other paths). */
const MALFORMED_PATH = /^\/(a.*|smuggled)?$/;

async function assertAllRefused(port: number, backendSeen: Seen[], what: string): Promise<void> {
  const reached = () => backendSeen.filter((s) => MALFORMED_PATH.test(s.url));
  const before = reached().length;
  for (const [name, req] of Object.entries(MALFORMED)) {
    const r = await rawClient(port, [req], 500);
    assert.equal(statusOf(r.text), 400, `${what}: ${name}: ${JSON.stringify(r.text.slice(0, 80))}`);
    assert.ok(r.closedAfter !== undefined, `${what}: ${name}: the connection must be closed after a 400`);
  }
  const big = await rawClient(port, [BIG_HEADER], 500);
  assert.equal(statusOf(big.text), 431, `${what}: headers of ${MAX_HEADER_SIZE + 1024} bytes`);
  assert.equal(
    reached().length,
    before,
    `${what}: a refused request reached the backend: ${JSON.stringify(reached().map((s) => s.url))}`,
  );
}

describe('built-in proxy against hostile clients', { concurrency: true }, () => {
  let backend: Awaited<ReturnType<typeof recordingBackend>>;
  let proxy: ProxyServer;
  let port: number;

  before(async () => {
    backend = await recordingBackend();
    proxy = await ProxyServer.start(snap(backend.port, { maxBodySize: 4096 }));
    port = proxy.address.port;
  }, budget(100));
  after(async () => {
    await proxy.close(1_000);
    await backend.close();
  }, budget(1_000));

  it(
    'malformed requests and smuggling attempts: 400, connection closed, nothing reaches the backend',
    budget(200),
    async () => {
      const ok = await rawClient(port, ['GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n']);
      assert.equal(statusOf(ok.text), 200, 'a well-formed request on the same proxy passes');
      await assertAllRefused(port, backend.seen, 'in-process proxy');
      assert.ok(!backend.seen.some((s) => s.url === '/smuggled'));
    },
  );

  it('headers: up to 16 KiB pass, more get 431', budget(200), async () => {
    assert.equal(DEFAULT_LIMITS.maxHeaderSize, 16 * 1024);
    const ok = await rawClient(port, [
      `GET /h HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(12 * 1024)}\r\nConnection: close\r\n\r\n`,
    ]);
    assert.equal(statusOf(ok.text), 200);
    const big = await rawClient(port, [BIG_HEADER]);
    assert.equal(statusOf(big.text), 431);
  });

  it(
    'a body announced larger than maxBodySize: 413 before any of it is read, the backend never asked',
    budget(200),
    async () => {
      const r = await rawClient(port, [
        'POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n',
        'x'.repeat(100),
      ]);
      assert.equal(statusOf(r.text), 413, r.text);
      assert.match(r.text, /proxy\.maxBodySize/);
      assert.match(r.text, /\r\nconnection: close\r\n/i);
      assert.ok(r.closedAfter !== undefined, 'the connection is closed (the rest of the body was never read)');
      // Expect: 100-continue: refused without ever inviting the body.
      const e = await rawClient(port, [
        'POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n',
      ]);
      assert.equal(statusOf(e.text), 413);
      assert.doesNotMatch(e.text, /100 Continue/);
      assert.equal(backend.seen.filter((s) => s.url === '/big').length, 0);
    },
  );

  it(
    'within the limit: Expect: 100-continue gets its go-ahead, and bodies reach the backend whole',
    budget(300),
    async () => {
      const e = await rawClient(port, [
        'POST /small HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
        300,
        'y'.repeat(100),
      ]);
      assert.match(e.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
      assert.match(e.text, /"received":100/);
      const body = 'z'.repeat(4096);
      const exact = await rawClient(port, [
        `POST /exact HTTP/1.1\r\nHost: a\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n${body}`,
      ]);
      assert.equal(statusOf(exact.text), 200);
      const chunked = await rawClient(port, [
        'POST /chunked-ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
        ...[1, 2, 3].map(() => `3e8\r\n${'c'.repeat(1000)}\r\n`),
        '0\r\n\r\n',
      ]);
      assert.equal(statusOf(chunked.text), 200, chunked.text);
      assert.equal(backend.seen.find((s) => s.url === '/chunked-ok')?.bytes, 3000);
    },
  );

  it('a chunked body that grows past maxBodySize: 413, and the backend never gets it whole', budget(400), async () => {
    const chunks = Array.from({ length: 6 }, () => `3e8\r\n${'d'.repeat(1000)}\r\n`);
    const r = await rawClient(port, [
      'POST /chunked-big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
      ...chunks.flatMap((c) => [c, 20]),
      '0\r\n\r\n',
    ]);
    assert.equal(statusOf(r.text), 413, r.text);
    assert.ok(r.closedAfter !== undefined);
    await sleep(200);
    for (const s of backend.seen.filter((x) => x.url === '/chunked-big')) {
      assert.equal(s.complete, false, 'the backend must not see a complete oversized body');
      assert.ok(s.bytes <= 4096, `the backend got ${s.bytes} bytes`);
    }
  });

  it(
    'maxBodySize: the default is 10 MiB, 0 means no limit, and it can be changed on a running proxy',
    budget(700),
    async () => {
      assert.equal(DEFAULT_MAX_BODY_SIZE, 10 * 1024 * 1024);
      const dflt = await ProxyServer.start(snap(backend.port));
      const none = await ProxyServer.start(snap(backend.port, { maxBodySize: 0 }));
      try {
        const over = await rawClient(dflt.address.port, [
          `POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: ${DEFAULT_MAX_BODY_SIZE + 1}\r\n\r\n`,
        ]);
        assert.equal(statusOf(over.text), 413);
        const at = await rawClient(
          dflt.address.port,
          [`POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: ${DEFAULT_MAX_BODY_SIZE}\r\nExpect: 100-continue\r\n\r\n`],
          300,
        );
        assert.match(at.text, /^HTTP\/1\.1 100 Continue/, 'exactly the limit is allowed');
        const unlimited = await rawClient(
          none.address.port,
          [`POST /n HTTP/1.1\r\nHost: a\r\nContent-Length: ${50 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`],
          300,
        );
        assert.match(unlimited.text, /^HTTP\/1\.1 100 Continue/);
        await dflt.configure([{ path: '/', service: 'app' }], { maxBodySize: 10 });
        assert.equal((await dflt.status()).maxBodySize, 10);
        const now = await rawClient(dflt.address.port, ['POST /d HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n']);
        assert.equal(statusOf(now.text), 413);
        await assert.rejects(dflt.configure([{ path: '/', service: 'app' }], { maxBodySize: -1 }), /maxBodySize/);
      } finally {
        await dflt.close(500);
        await none.close(500);
      }
    },
  );

  it('proxy.maxBodySize in switchyard.yml: sizes as nginx writes them, in bytes', budget(100), () => {
    const parse1 = (maxBodySize: unknown) =>
      configSchema.safeParse({
        app: 'a',
        proxy: {
          listen: { http: 8080 },
          routes: [{ path: '/', service: 'w' }],
          ...(maxBodySize === undefined ? {} : { maxBodySize }),
        },
        services: { w: { command: 'x', health: { path: '/' } } },
      });
    const bytes = (v: unknown) => {
      const r = parse1(v);
      return r.success && r.data.proxy.kind === 'builtin' ? r.data.proxy.maxBodySize : 'invalid';
    };
    assert.equal(bytes(undefined), 10 * 1024 * 1024);
    assert.equal(bytes('1m'), 1024 * 1024);
    assert.equal(bytes('512k'), 512 * 1024);
    assert.equal(bytes('2G'), 2 * 1024 ** 3);
    assert.equal(bytes(0), 0);
    assert.equal(bytes('0'), 0);
    assert.equal(bytes(1500), 1500);
    for (const bad of ['10x', '-1', -1, 1.5, '', '1 m', 'lots'])
      assert.equal(bytes(bad), 'invalid', JSON.stringify(bad));
  });

  it(
    'slow clients: headers sent a byte a second are cut off at the headers timeout; a slow body at the request timeout',
    budget(16_000),
    async () => {
      assert.ok(
        HEADERS_TIMEOUT_MS <= 15_000 && REQUEST_TIMEOUT_MS <= 120_000 && DEFAULT_LIMITS.checkIntervalMs <= 2_000,
      );
      // The real defaults for the headers (the daemon runs with them); shortened bounds for a slow body.
      const short: Partial<ProxyLimits> = { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, checkIntervalMs: 200 };
      const fast = await ProxyServer.start(snap(backend.port), { limits: short });
      try {
        const dripHeaders = (p: number, n: number) =>
          rawClient(
            p,
            [
              'GET /slowloris HTTP/1.1\r\nHost: a\r\n',
              ...Array.from({ length: n }, (_, i) => [1_000, i % 2 ? ':' : 'X']).flat(),
            ],
            0,
          );
        const dripBody = (p: number) =>
          rawClient(
            p,
            [
              'POST /slowbody HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n',
              ...Array.from({ length: 100 }, () => [300, 'b']).flat(),
            ],
            0,
          );
        const bound = HEADERS_TIMEOUT_MS + DEFAULT_LIMITS.checkIntervalMs + 1_500;
        const [slowHeaders, slowBody, shortHeaders] = await Promise.all([
          dripHeaders(port, Math.ceil(bound / 1000) + 3),
          dripBody(fast.address.port),
          dripHeaders(fast.address.port, 10),
        ]);
        assert.ok(slowHeaders.closedAfter !== undefined, 'a client dripping headers was never cut off');
        assert.ok(
          slowHeaders.closedAfter >= HEADERS_TIMEOUT_MS - 1_000 && slowHeaders.closedAfter <= bound,
          `cut off after ${Math.round(slowHeaders.closedAfter)} ms`,
        );
        assert.equal(statusOf(slowHeaders.text), 408);
        assert.ok(
          shortHeaders.closedAfter !== undefined && shortHeaders.closedAfter <= 1_000 + 200 + 1_000,
          `short headers timeout: ${shortHeaders.closedAfter}`,
        );
        assert.ok(
          slowBody.closedAfter !== undefined && slowBody.closedAfter <= 2_000 + 200 + 1_000,
          `slow body cut off after ${slowBody.closedAfter} ms`,
        );
        assert.ok(
          !backend.seen.some((s) => s.url === '/slowloris'),
          'headers never completed, so nothing reached the backend',
        );
        assert.ok(backend.seen.filter((s) => s.url === '/slowbody').every((s) => !s.complete && s.bytes < 100));
      } finally {
        await fast.close(500);
      }
    },
  );
});

describe('the proxy daemon when NODE_OPTIONS asks for a lenient parser', () => {
  it('still refuses malformed requests and smuggling, and 431s huge headers', budget(700), async () => {
    assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
    const backend = await recordingBackend();
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-sec-daemon-'));
    const paths = projectPaths(root);
    const port = await freePort();
    await saveSnapshot(paths.proxyState, { ...snap(backend.port), listen: { host: '127.0.0.1', port } });
    const logs: string[] = [];
    // The daemon inherits the environment of the command that starts it: a user's NODE_OPTIONS too.
    const child = spawn(process.execPath, [CLI, 'proxy', '--project', root], {
      env: { ...process.env, NODE_OPTIONS: '--insecure-http-parser --max-http-header-size=81920' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d) => logs.push(String(d)));
    child.stderr.on('data', (d) => logs.push(String(d)));
    try {
      const deadline = Date.now() + 10_000;
      while ((await proxyAlive(paths.proxySocket, 300)) === undefined) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `the daemon did not start: ${logs.join('')}`);
        await sleep(50);
      }
      assert.match(logs.join(''), /insecure HTTP parsing/i, 'Node did take the flag (else this test proves nothing)');
      const ok = await rawClient(port, ['GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n']);
      assert.equal(statusOf(ok.text), 200);
      await assertAllRefused(port, backend.seen, 'daemon under NODE_OPTIONS');
    } finally {
      await proxyClient(paths.proxySocket)
        .shutdown()
        .catch(() => child.kill('SIGTERM'));
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
      await backend.close();
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('owner-only files', () => {
  it(
    'after init and backup under umask 000 with a world-writable .switchyard: ' +
      'folders 0700, files and socket 0600; maxBodySize reaches the daemon',
    budget(3_700),
    async () => {
      assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build first`);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-sec-modes-'));
      const port = await freePort();
      await fs.cp(path.join(ROOT, 'test', 'fixtures', 'app'), dir, { recursive: true });
      const yml = path.join(dir, 'switchyard.yml');
      const cfg = parse(await fs.readFile(yml, 'utf8')) as { proxy: Record<string, unknown>; backup?: unknown };
      cfg.proxy.maxBodySize = '1k';
      cfg.backup = {
        kind: 'command',
        dump: ['sh', '-c', 'echo dump-data'],
        restore: ['sh', '-c', 'cat > /dev/null'],
        dir: 'backups',
      };
      await fs.writeFile(yml, stringify(cfg));
      await fs.mkdir(path.join(dir, '.switchyard'));
      await fs.chmod(path.join(dir, '.switchyard'), 0o777);
      const env = { ...process.env, SWITCHYARD_PORT: String(port), FORCE_COLOR: '0' };
      const cli = (args: string[]) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const c = spawn('/bin/sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, CLI, ...args], {
            cwd: dir,
            env,
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let out = '';
          c.stdout.on('data', (d) => (out += d));
          c.stderr.on('data', (d) => (out += d));
          const t = setTimeout(() => c.kill('SIGKILL'), 60_000);
          c.on('close', (code) => (clearTimeout(t), resolve({ code, out })));
        });
      try {
        const init = await cli(['init']);
        assert.equal(init.code, 0, init.out);
        const backup = await cli(['backup']);
        assert.equal(backup.code, 0, backup.out);

        const loose: string[] = [];
        const walk = async (d: string) => {
          for (const e of await fs.readdir(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            const st = await fs.lstat(p);
            const rel = path.relative(dir, p);
            // Release folders are snapshots of the source, with its modes, inside the 0700 releases/.
            if (path.dirname(rel) === path.join('.switchyard', 'releases')) continue;
            const want = e.isDirectory() ? 0o700 : 0o600;
            if ((st.mode & 0o777) !== want) loose.push(`${rel} ${(st.mode & 0o777).toString(8)}`);
            if (e.isDirectory()) await walk(p);
          }
        };
        for (const d of ['.switchyard', 'backups']) {
          const st = await fs.stat(path.join(dir, d));
          if ((st.mode & 0o777) !== 0o700) loose.push(`${d} ${(st.mode & 0o777).toString(8)}`);
          await walk(path.join(dir, d));
        }
        assert.deepEqual(loose, [], 'not owner-only');
        assert.ok((await fs.lstat(path.join(dir, '.switchyard', 'proxy.sock'))).isSocket());
        assert.ok((await fs.readdir(path.join(dir, 'backups'))).some((n) => /^db-backup-.*\.dump$/.test(n)));

        // The daemon took proxy.maxBodySize from switchyard.yml.
        assert.equal(
          JSON.parse(await fs.readFile(path.join(dir, '.switchyard', 'proxy.json'), 'utf8')).maxBodySize,
          1024,
        );
        const big = await rawClient(port, [
          'POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n',
        ]);
        assert.equal(statusOf(big.text), 413, big.text);
        const small = await rawClient(port, [
          'POST /api/echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 7\r\n' +
            'Connection: close\r\n\r\n{"a":1}',
        ]);
        assert.equal(statusOf(small.text), 200, small.text);
      } finally {
        await cli(['down', '--force-unlock']);
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
  );

  it('ensureProxy hands a changed maxBodySize to a running daemon, which persists it', budget(100), async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-sec-limit-'));
    const paths = projectPaths(root);
    const port = await freePort();
    const routes = [{ path: '/', service: 'app' }];
    await saveSnapshot(paths.proxyState, { ...snap(1), listen: { host: '127.0.0.1', port } });
    const d = await daemonInProcess(root);
    try {
      assert.equal((await proxyClient(paths.proxySocket).status()).maxBodySize, DEFAULT_MAX_BODY_SIZE);
      const r = await ensureProxy(paths, { listen: { host: '127.0.0.1', port }, routes, maxBodySize: 2048 });
      assert.equal(r.started, false, 'the running daemon was reused');
      assert.equal(r.status.maxBodySize, 2048);
      assert.equal(JSON.parse(await fs.readFile(paths.proxyState, 'utf8')).maxBodySize, 2048);
      const big = await rawClient(port, ['POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2049\r\n\r\n']);
      assert.equal(statusOf(big.text), 413);
    } finally {
      await d.stop();
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('the daemon narrows a state folder it did not create', budget(100), async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-sec-daemon-dir-'));
    const paths = projectPaths(root);
    await fs.mkdir(path.join(root, '.switchyard', 'run'), { recursive: true });
    await fs.chmod(path.join(root, '.switchyard'), 0o755);
    await fs.chmod(path.join(root, '.switchyard', 'run'), 0o777);
    await saveSnapshot(paths.proxyState, { ...snap(1), listen: { host: '127.0.0.1', port: 0 } });
    const d = await daemonInProcess(root);
    try {
      assert.equal((await fs.stat(paths.dir)).mode & 0o777, 0o700);
      assert.equal((await fs.stat(path.join(paths.dir, 'run'))).mode & 0o777, 0o700);
      assert.equal((await fs.stat(paths.proxySocket)).mode & 0o777, 0o600);
    } finally {
      await d.stop();
      await fs.rm(root, { recursive: true, force: true });
    }
  });
});

describe('smoke steps and values captured from a hostile backend', () => {
  it(
    'a captured value with CR/LF used in a header fails the step; nothing is injected, nothing crashes',
    budget(700),
    async () => {
      const backend = await recordingBackend();
      const crashes: unknown[] = [];
      const onCrash = (e: unknown) => crashes.push(e);
      process.on('uncaughtException', onCrash);
      try {
        const config = configSchema.parse({
          app: 'a',
          proxy: { listen: { http: 8080 }, routes: [{ path: '/', service: 'app' }] },
          services: { app: { command: 'x', health: { path: '/' } } },
          checks: {
            requestTimeout: '300ms',
            smoke: [
              { name: 'login', request: { method: 'POST', path: '/login', json: {} }, capture: { token: '$.token' } },
              { name: 'use it', request: { path: '/me', headers: { Authorization: 'Bearer {{token}}' } } },
              { name: 'in the path', request: { path: '/x/{{token}}' } },
            ],
          },
        });
        const endpoints = { app: [{ host: '127.0.0.1', port: backend.port }] };
        const r = await runSmoke({ config, colour: 'blue', endpoints });
        assert.equal(r.ok, false);
        assert.equal(r.steps[0]!.ok, true);
        assert.equal(r.steps[1]!.ok, false);
        assert.match(r.steps[1]!.detail, /cannot send this request: Invalid character in header content/);
        // The path variant, run on its own.
        const pathOnly = configSchema.parse({
          ...config,
          checks: { ...config.checks, smoke: [config.checks.smoke[0], config.checks.smoke[2]] },
        });
        const p = await runSmoke({ config: pathOnly, colour: 'blue', endpoints });
        assert.match(p.steps[1]!.detail, /cannot send this request: Request path contains unescaped characters/);
        await sleep(700); // past requestTimeout: the old code crashed here, in its timer
        assert.deepEqual(crashes, []);
        assert.ok(
          backend.seen.every((s) => s.headers['x-evil'] === undefined && s.url !== '/me'),
          'nothing was sent with the injected header',
        );
      } finally {
        process.off('uncaughtException', onCrash);
        await backend.close();
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// nginx with the rendered TLS profile.

function selfSigned(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { timeout: 30_000 },
      (e, _o, err) => (e ? reject(new Error(`openssl failed: ${err}`)) : resolve()),
    ),
  );
}

type Probe = { version?: tls.SecureVersion; ciphers?: string };

/** A TLS handshake with exactly this protocol version (and cipher list); the negotiated version or the error. */
function handshake(port: number, p: Probe): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      ...(p.version ? { minVersion: p.version, maxVersion: p.version } : {}),
      // Security level 0 so that this client itself is willing to speak TLS 1.0/1.1 (OpenSSL 3 refuses otherwise).
      ciphers: p.ciphers ?? 'DEFAULT:@SECLEVEL=0',
    });
    const t = setTimeout(() => (s.destroy(), resolve('timeout')), 5_000);
    s.once(
      'secureConnect',
      () => (clearTimeout(t), resolve(`${s.getProtocol()} ${s.getCipher().standardName}`), s.destroy()),
    );
    s.once('error', (e: NodeJS.ErrnoException) => (clearTimeout(t), resolve(`refused: ${e.code ?? e.message}`)));
  });
}

describe('nginx TLS (Mozilla intermediate)', () => {
  let p: NginxProject;
  let https: number;
  let tlsDir: string;
  let control: tls.Server;
  let controlPort: number;
  let app: http.Server;

  before(async () => {
    https = await freePort();
    p = await nginxProject([{ path: '/', service: 'app' }]);
    tlsDir = path.join(p.root, 'tls');
    await fs.mkdir(tlsDir);
    await selfSigned(tlsDir);
    app = http.createServer((_q, s) => s.end('ok'));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    // A control server that allows everything, to prove the probe can speak TLS 1.0 and 1.1 at all.
    const [key, cert] = await Promise.all([
      fs.readFile(path.join(tlsDir, 'key.pem')),
      fs.readFile(path.join(tlsDir, 'cert.pem')),
    ]);
    control = tls.createServer({ key, cert, minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }, (s) => s.end());
    await new Promise<void>((r) => control.listen(0, '127.0.0.1', r));
    controlPort = (control.address() as net.AddressInfo).port;
  }, budget(200));
  after(async () => {
    await p.cleanup();
    await new Promise((r) => control.close(r));
    await new Promise((r) => app.close(r));
  }, budget(100));

  it(
    'refuses TLS 1.0/1.1, DHE and CBC suites; accepts TLS 1.2 (ECDHE + AEAD) and 1.3; no version in Server',
    budget(600),
    async () => {
      for (const v of ['TLSv1', 'TLSv1.1'] as const)
        assert.match(
          await handshake(controlPort, { version: v }),
          new RegExp(`^${v.replace('.', '\\.')} `),
          `control: the probe must be able to speak ${v}`,
        );

      const driver = p.driverWith({
        listen: { http: p.port, https },
        tls: { cert: 'tls/cert.pem', key: 'tls/key.pem' },
      });
      const { control: c } = await driver.ensure();
      await c.setBackends('blue', { app: [{ host: '127.0.0.1', port: (app.address() as net.AddressInfo).port }] });
      await c.switchTo('blue');
      try {
        for (const v of ['TLSv1', 'TLSv1.1'] as const)
          assert.match(await handshake(https, { version: v }), /^refused/, `nginx accepted ${v}`);
        assert.match(
          await handshake(https, { version: 'TLSv1.2' }),
          /^TLSv1\.2 TLS_ECDHE_RSA_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/,
        );
        assert.match(await handshake(https, { version: 'TLSv1.3' }), /^TLSv1\.3 TLS_/);
        // A TLS 1.2 client offering only what intermediate leaves out is refused.
        for (const ciphers of [
          'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384',
          'ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA',
          'AES128-GCM-SHA256',
        ]) {
          assert.match(
            await handshake(https, { version: 'TLSv1.2', ciphers: `${ciphers}:@SECLEVEL=0` }),
            /^refused/,
            ciphers,
          );
        }
        // Every suite of the profile works on TLS 1.2 with this RSA certificate.
        for (const suite of TLS_CIPHERS.split(':').filter((x) => x.includes('-RSA-')))
          assert.match(await handshake(https, { version: 'TLSv1.2', ciphers: suite }), /^TLSv1\.2 /, suite);

        const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port: p.port, path: '/', agent: false }, resolve);
          req.on('error', reject);
          req.setTimeout(5_000, () => req.destroy(new Error('no answer')));
        });
        res.resume();
        assert.equal(res.statusCode, 301);
        assert.equal(res.headers.server, 'nginx', 'server_tokens off: no version');
      } finally {
        await driver.stop();
      }
    },
  );
});
