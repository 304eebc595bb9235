/**
 * The real infrastructure the Docker and nginx tests stand on, as scripts/setup-infra.sh leaves it:
 * a Docker engine, the registry-free base image, host nginx and pg_dump, and containers on a
 * user-defined network reachable through published 127.0.0.1 ports. Nothing here skips: on a
 * machine without Docker these tests fail and say how to fix it.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { budget } from '../helpers/budget.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BASE = process.env.SWITCHYARD_BASE_TAG ?? 'switchyard/base:bookworm';
const FIX = 'run scripts/setup-infra.sh (as root) to install and start it';
const CMD_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 200;
// Names unique per run so parallel runs (and leftovers of a killed run) never collide.
const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
const LABEL = 'org.switchyard.test=infra';

const containers: string[] = [];
const networks: string[] = [];
const volumes: string[] = [];
const images: string[] = [];

after(async () => {
  // Each removal on its own, so one failure does not leave the rest behind.
  if (containers.length) await docker(['rm', '-f', '-v', ...containers]).catch(() => undefined);
  for (const n of networks) await docker(['network', 'rm', n]).catch(() => undefined);
  if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]).catch(() => undefined);
  if (images.length) await docker(['image', 'rm', '-f', ...images]).catch(() => undefined);
}, budget(5_000));

type Out = { stdout: string; stderr: string };

async function exec(cmd: string, args: string[], timeout = CMD_TIMEOUT_MS, env?: NodeJS.ProcessEnv): Promise<Out> {
  try {
    return await run(cmd, args, { timeout, maxBuffer: 16 * 1024 * 1024, env: env ?? process.env });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string; killed?: boolean };
    if (err.code === 'ENOENT') throw new Error(`${cmd} is not installed: ${FIX}`);
    const why = err.killed ? `timed out after ${timeout} ms` : (err.stderr ?? '').trim() || err.message;
    throw new Error(`${cmd} ${args.join(' ')} failed: ${why}`);
  }
}

async function docker(args: string[], timeout?: number): Promise<string> {
  try {
    return (await exec('docker', args, timeout)).stdout.trim();
  } catch (e) {
    const msg = (e as Error).message;
    if (/Cannot connect to the Docker daemon|docker\.sock|Is the docker daemon running/i.test(msg)) {
      throw new Error(`the Docker engine is not answering (${msg.split('\n')[0]}): ${FIX}`);
    }
    throw e;
  }
}

/** Runs a detached container and records it for cleanup. */
async function runContainer(name: string, args: string[]): Promise<void> {
  containers.push(name);
  await docker(['run', '-d', '--name', name, '--label', LABEL, ...args]);
}

/** host:port of a container port published on 127.0.0.1. */
async function published(name: string, port: number): Promise<{ host: string; port: number }> {
  const line = (await docker(['port', name, `${port}/tcp`])).split('\n')[0] ?? '';
  const m = /^(127\.0\.0\.1):(\d+)$/.exec(line);
  assert.ok(m, `container ${name} port ${port} should be published on 127.0.0.1, got "${line}"`);
  return { host: m[1]!, port: Number(m[2]) };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeout = READY_TIMEOUT_MS): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error(`${what}: not within ${timeout} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return { status: res.status, body: await res.text() };
}

async function health(name: string): Promise<string> {
  return docker(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', name]);
}

// A tiny HTTP server that says which container answered; run with the base image's node.
const HELLO =
  "require('http').createServer((q,s)=>{s.setHeader('content-type','text/plain');" +
  "s.end('hello from '+process.env.WHO)}).listen(8000,'0.0.0.0')";

describe('infrastructure (scripts/setup-infra.sh)', () => {
  it('the Docker engine answers', budget(100), async () => {
    const v = await docker(['version', '--format', '{{.Server.Version}}'], 15_000);
    assert.match(v, /^\d+\.\d+/, `docker version should print the engine version: ${FIX}`);
  });

  it(`the base image ${BASE} exists and carries node, nginx, postgres and tini`, budget(300), async () => {
    await docker(['image', 'inspect', BASE]).catch((e: Error) => {
      throw new Error(`base image ${BASE} is missing (${e.message.split('\n')[0]}): ${FIX}`);
    });
    const out = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      BASE,
      'sh',
      '-c',
      'node --version; nginx -v 2>&1; postgres --version; tini --version',
    ]);
    assert.match(out, /^v(2\d|[3-9]\d)\./m, 'node >= 20 in the image');
    assert.match(out, /nginx version: nginx\//, 'nginx in the image');
    assert.match(out, /postgres \(PostgreSQL\) \d+/, 'postgres in the image');
    assert.match(out, /tini version/, 'tini in the image');
  });

  it('nginx and pg_dump work on the host', budget(100), async () => {
    const ngx = await exec('nginx', ['-v']);
    assert.match(ngx.stderr + ngx.stdout, /nginx version: nginx\/\d+\.\d+/);
    const pg = await exec('pg_dump', ['--version']);
    assert.match(pg.stdout, /pg_dump \(PostgreSQL\) \d+/);
  });

  it(
    'containers on a user-defined network answer by name and on a published 127.0.0.1 port',
    budget(1_300),
    async () => {
      const net = `sy-infra-net-${tag}`;
      networks.push(net);
      await docker(['network', 'create', '--label', LABEL, net]);
      const a = `sy-infra-a-${tag}`;
      const b = `sy-infra-b-${tag}`;
      await runContainer(a, ['--network', net, '-e', 'WHO=a', '-p', '127.0.0.1::8000', BASE, 'node', '-e', HELLO]);
      await runContainer(b, ['--network', net, '-e', 'WHO=b', BASE, 'node', '-e', HELLO]);

      const pa = await published(a, 8000);
      const body = await until(`HTTP answer from ${a} on ${pa.host}:${pa.port}`, async () => {
        const r = await httpGet(`http://${pa.host}:${pa.port}/`);
        return r.status === 200 ? r.body : undefined;
      });
      assert.equal(body, 'hello from a');

      // Docker's embedded DNS: b is reachable from a by its container name on the shared network.
      const fromA = await until(`${a} reaching ${b} by name`, async () => {
        const fetchB =
          `fetch('http://${b}:8000/',{signal:AbortSignal.timeout(2000)})` +
          '.then(r=>r.text()).then(t=>console.log(t))';
        const out = await docker(['exec', a, 'node', '-e', fetchB]);
        return out || undefined;
      });
      assert.equal(fromA, 'hello from b');
    },
  );

  it('the example API and frontend images build from the base image and report healthy', budget(9_000), async () => {
    const net = `sy-infra-app-${tag}`;
    networks.push(net);
    await docker(['network', 'create', '--label', LABEL, net]);
    for (const svc of ['api', 'frontend'] as const) {
      const image = `switchyard-test/infra-${svc}:${tag}`;
      images.push(image);
      await docker(
        [
          'build',
          '-q',
          '--build-arg',
          `BASE=${BASE}`,
          '-f',
          path.join(ROOT, 'examples/docker', `${svc}.Dockerfile`),
          '-t',
          image,
          path.join(ROOT, 'examples/app', svc),
        ],
        120_000,
      );
      const name = `sy-infra-${svc}-${tag}`;
      const port = svc === 'api' ? 5000 : 80;
      await runContainer(name, ['--network', net, '-e', 'ENVIRONMENT_NAME=blue', '-p', `127.0.0.1::${port}`, image]);
      await until(`${name} healthy`, async () => {
        const h = await health(name);
        assert.notEqual(h, 'unhealthy', `${name} went unhealthy`);
        return h === 'healthy' ? h : undefined;
      });
      const p = await published(name, port);
      const r = await httpGet(`http://${p.host}:${p.port}${svc === 'api' ? '/api/health' : '/'}`);
      assert.equal(r.status, 200);
      if (svc === 'api') assert.equal(JSON.parse(r.body).environment, 'blue');
      else assert.match(r.body, /<strong id="colour">blue<\/strong>/);
    }
  });

  it(
    'a PostgreSQL container from the base image accepts psql from the host through a loopback port',
    budget(4_700),
    async () => {
      const image = `switchyard-test/infra-postgres:${tag}`;
      images.push(image);
      await docker(
        [
          'build',
          '-q',
          '--build-arg',
          `BASE=${BASE}`,
          '-f',
          path.join(ROOT, 'examples/docker/postgres.Dockerfile'),
          '-t',
          image,
          path.join(ROOT, 'examples/docker'),
        ],
        120_000,
      );
      const vol = `sy-infra-pg-${tag}`;
      volumes.push(vol);
      const name = `sy-infra-pg-${tag}`;
      const password = randomBytes(9).toString('base64url');
      await runContainer(name, [
        '-e',
        `POSTGRES_PASSWORD=${password}`,
        '-e',
        'POSTGRES_USER=app',
        '-e',
        'POSTGRES_DB=appdb',
        '-v',
        `${vol}:/var/lib/postgresql/data`,
        '-p',
        '127.0.0.1::5432',
        image,
      ]);
      await until(`${name} healthy`, async () => ((await health(name)) === 'healthy' ? true : undefined));
      const p = await published(name, 5432);
      const env = { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' };
      const q = await exec(
        'psql',
        [
          '-h',
          p.host,
          '-p',
          String(p.port),
          '-U',
          'app',
          '-d',
          'appdb',
          '-Atc',
          'select current_user, current_database()',
        ],
        15_000,
        env,
      );
      assert.equal(q.stdout.trim(), 'app|appdb');
      await assert.rejects(
        exec('psql', ['-h', p.host, '-p', String(p.port), '-U', 'app', '-d', 'appdb', '-Atc', 'select 1'], 15_000, {
          ...env,
          PGPASSWORD: 'wrong',
        }),
        /password authentication failed/,
      );
      const logs = await exec('docker', ['logs', name]);
      assert.ok(!(logs.stdout + logs.stderr).includes(password), 'the password must not appear in the container log');
    },
  );

  it('an nginx container from the base image serves a mounted config in the foreground', budget(700), async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-infra-nginx-'));
    try {
      const conf = path.join(dir, 'nginx.conf');
      await fs.writeFile(
        conf,
        'worker_processes 1;\nerror_log stderr warn;\npid /tmp/nginx.pid;\nevents { worker_connections 64; }\n' +
          'http {\n  access_log off;\n  server_tokens off;\n' +
          '  server { listen 8080; ' +
          'location / { add_header X-Switchyard-Env probe always; return 200 "nginx ok\\n"; } }\n' +
          '}\n',
      );
      const name = `sy-infra-nginx-${tag}`;
      await runContainer(name, [
        '-v',
        `${conf}:/etc/nginx/nginx.conf:ro`,
        '-p',
        '127.0.0.1::8080',
        BASE,
        'nginx',
        '-g',
        'daemon off;',
      ]);
      const p = await published(name, 8080);
      const res = await until('nginx answering', async () => {
        const r = await fetch(`http://${p.host}:${p.port}/`, { signal: AbortSignal.timeout(2_000) });
        return r.status === 200 ? r : undefined;
      });
      assert.equal(res.headers.get('x-switchyard-env'), 'probe');
      assert.equal(await res.text(), 'nginx ok\n');
      const t = await exec('docker', ['exec', name, 'nginx', '-t']);
      assert.match(t.stderr, /test is successful/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
