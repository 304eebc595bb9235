/**
 * The tunnel into a swarm's overlay network (src/runtime/swarm/tunnel.ts) on the real three-node
 * test swarm (scripts/swarm-infra.sh): this build's image (ensureEdgeImage, the CLI bundle must be
 * built) runs the relay on the manager, on the app's overlay, where a service of two replicas
 * (dnsrr, a node HTTP server on 8000 answering with its hostname and echoing POST bodies) has its
 * tasks, on whichever nodes. Through loopback forwards: each task answers a GET; 20 concurrent
 * requests, each on its own connection, all answer; a 2 MB body comes back byte-identical; a port
 * nothing listens on is a quick connection error, not a hang; close() leaves no tunnel container;
 * a CLI process killed with SIGKILL leaves none either (the engine closes the relay's stdin, the
 * relay exits, AutoRemove). Fails, never skips, when the swarm is not up. Everything of the
 * test's app (service, overlay, node, builder and registry images) is removed in `after`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import type Docker from 'dockerode';
import { ensureEdgeImage } from '../../src/runtime/swarm/edge-image.js';
import { ensureOverlay } from '../../src/runtime/swarm/network.js';
import { waitForTasks } from '../../src/runtime/swarm/tasks.js';
import { openTunnel, type Tunnel } from '../../src/runtime/swarm/tunnel.js';
import { SwitchyardError } from '../../src/errors.js';
import { BASE_IMAGE, ROOT, dockerClient, uniqueApp, waitFor } from '../helpers/docker.js';
import { cleanupSwarmApp, managerClient } from '../helpers/swarm.js';
import { budget } from '../helpers/budget.js';

const SOCK = (n: number) => `/run/sysw/n${n}.sock`;
const REGISTRY = '10.77.0.1:5000';
const APP = uniqueApp('sytun');
const SERVICE = `${APP}_echo`;
const TUNNEL_LABELS = { label: [`switchyard.app=${APP}`, 'switchyard.role=tunnel'] };
let manager: Docker;
let builder: Docker;
let image = '';
let network = '';
let addresses: string[] = [];
let tunnel: Tunnel | undefined;

/** docker against node n, '' when it refuses (cleanup). */
function _quiet(n: number, ...args: string[]): string {
  try {
    return execFileSync('docker', ['-H', `unix://${SOCK(n)}`, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
  } catch {
    return '';
  }
}

const SERVER = `
const http = require('http');
const os = require('os');
let big;
http.createServer((q, s) => {
  if (q.url === '/big') {
    const b = (big = { sent: 0 });
    const chunk = Buffer.alloc(65536, 97);
    const pump = () => {
      while (b.sent < 32 * 1024 * 1024) {
        b.sent += chunk.length;
        if (!s.write(chunk)) return s.once('drain', pump);
      }
      s.end();
    };
    return pump();
  }
  if (q.url === '/sent') return s.end(String(big ? big.sent : -1));
  if (q.method !== 'POST') return s.end(os.hostname());
  const parts = [];
  q.on('data', (b) => parts.push(b));
  q.on('end', () => s.end(Buffer.concat(parts)));
}).listen(8000, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
`;

/** One request on its own connection (no agent): status and body. */
function request(
  at: { host: string; port: number },
  method = 'GET',
  body?: Buffer,
  path = '/',
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ ...at, method, path, agent: false, timeout: 20_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const tunnelContainers = async () =>
  (await manager.listContainers({ all: true, filters: TUNNEL_LABELS })).map((c) => c.Id);

/** The echo service, two replicas on the overlay; the addresses of its running tasks there. */
async function startEcho(): Promise<string[]> {
  const since = Date.now();
  await manager.createService({
    Name: SERVICE,
    Labels: { 'switchyard.app': APP },
    TaskTemplate: {
      ContainerSpec: { Image: image, Command: ['node', '-e', SERVER] },
      Networks: [{ Target: network }],
      RestartPolicy: { Condition: 'on-failure', MaxAttempts: 3 },
    },
    Mode: { Replicated: { Replicas: 2 } },
    EndpointSpec: { Mode: 'dnsrr' },
  } as Docker.CreateServiceOptions);
  await waitForTasks(manager, SERVICE, { replicas: 2, timeoutMs: 50_000, since, graceMs: 500 });
  const tasks = (await manager.listTasks({ filters: { service: [SERVICE], 'desired-state': ['running'] } })) as {
    Status: { State: string };
    NetworksAttachments?: { Network: { Spec: { Name: string } }; Addresses: string[] }[];
  }[];
  const found = tasks
    .filter((t) => t.Status.State === 'running')
    .map((t) => t.NetworksAttachments?.find((a) => a.Network.Spec.Name === network)?.Addresses[0]?.split('/')[0])
    .filter((a): a is string => a !== undefined);
  assert.equal(found.length, 2, `two task addresses on ${network}: ${JSON.stringify(tasks)}`);
  return found;
}

before(async () => {
  manager = await managerClient();
  builder = await dockerClient();
  image = await ensureEdgeImage(builder, { app: APP, registry: REGISTRY, base: BASE_IMAGE });
  network = await ensureOverlay(manager, APP);
}, budget(10_000));

after(async () => {
  if (!manager) return;
  await tunnel?.close().catch(() => undefined);
  // Services, tunnel containers, the network, node images by reference and the builder's tags.
  await cleanupSwarmApp(APP);
  if (image) {
    const digest = image.split('@')[1]!;
    await fetch(`http://${REGISTRY}/v2/${APP}-switchyard/manifests/${digest}`, { method: 'DELETE' }).catch(
      () => undefined,
    );
  }
}, budget(15_000));

describe('swarm tunnel: the CLI reaches the overlay through a relay container on the manager', () => {
  it('opens on a manager without the image: pulls it, then the relay is ready', budget(5_000), async (t) => {
    const onManager = () =>
      manager
        .getImage(image)
        .inspect()
        .then(
          () => true,
          () => false,
        );
    assert.equal(await onManager(), false, 'the manager does not have the image yet');
    let s = performance.now();
    tunnel = await openTunnel(manager, { app: APP, image, network });
    const withPull = performance.now() - s;
    assert.equal(await onManager(), true, 'the tunnel pulled it');
    assert.deepEqual(await tunnelContainers(), [tunnel.container]);
    // A second tunnel beside it (the image is there now): what opening one costs.
    s = performance.now();
    const second = await openTunnel(manager, { app: APP, image, network });
    const opened = performance.now() - s;
    assert.deepEqual((await tunnelContainers()).sort(), [tunnel.container, second.container].sort());
    await second.close();
    assert.deepEqual(await tunnelContainers(), [tunnel.container]);
    t.diagnostic(`tunnel open: ${withPull.toFixed(0)} ms with the pull, ${opened.toFixed(0)} ms without`);
  });

  it('a GET to each task address answers with its hostname', budget(15_000), async (t) => {
    assert.ok(tunnel);
    addresses = await startEcho();
    const hosts = new Set<string>();
    for (const a of addresses) {
      const at = await tunnel.forward(a, 8000);
      assert.equal(at.host, '127.0.0.1');
      assert.deepEqual(await tunnel.forward(a, 8000), at, 'one forward per host:port');
      const res = await request(at);
      assert.equal(res.status, 200);
      hosts.add(res.body.toString());
    }
    assert.equal(hosts.size, 2, `two tasks, two hostnames: ${[...hosts].join(', ')}`);
    // Sequential requests, each on a new connection: what a health check costs through the tunnel.
    const at = await tunnel.forward(addresses[0]!, 8000);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const s = performance.now();
      assert.equal((await request(at)).status, 200);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`request on a new connection: median ${times[10]!.toFixed(1)} ms, max ${times[19]!.toFixed(1)} ms`);
  });

  it('20 concurrent requests, each on its own connection, all answer', budget(2_000), async () => {
    assert.ok(tunnel);
    const ats = await Promise.all(addresses.map((a) => tunnel!.forward(a, 8000)));
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => request(ats[i % ats.length]!)));
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(20).fill(200),
    );
    assert.equal(new Set(answers.map((a) => a.body.toString())).size, 2);
  });

  it('a 2 MB POST body comes back byte-identical', budget(2_000), async (t) => {
    assert.ok(tunnel);
    const body = randomBytes(2 * 1024 * 1024);
    const s = performance.now();
    const res = await request(await tunnel.forward(addresses[1]!, 8000), 'POST', body);
    t.diagnostic(`2 MB up and back in ${(performance.now() - s).toFixed(0)} ms`);
    assert.equal(res.status, 200);
    assert.equal(res.body.length, body.length);
    assert.ok(res.body.equals(body), 'the echo differs');
  });

  it('a client that stops reading holds back only its own connection, back to the task', budget(2_000), async (t) => {
    assert.ok(tunnel);
    const at = await tunnel.forward(addresses[0]!, 8000);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get({ ...at, path: '/big', agent: false }, resolve).on('error', reject),
    );
    res.pause();
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 5; i++) assert.equal((await request(at)).status, 200, 'another connection answers');
    // 32 MB is more than the sockets on the way hold: the relay stopped reading, so the task stopped sending.
    const sent = async () => Number((await request(at, 'GET', undefined, '/sent')).body.toString());
    const first = await sent();
    await new Promise((r) => setTimeout(r, 300));
    const then = await sent();
    t.diagnostic(`the task stopped after ${(then / 1024 / 1024).toFixed(1)} MB of 32 while the client did not read`);
    assert.ok(then < 32 * 1024 * 1024, 'the task sent it all: nothing held it back');
    assert.equal(then, first, 'the task was still sending');
    let got = 0;
    res.on('data', (b: Buffer) => (got += b.length));
    res.resume();
    await new Promise((r) => res.on('end', r));
    assert.equal(got, 32 * 1024 * 1024);
  });

  it('a port nothing listens on: the client sees the connection fail quickly, not a hang', budget(1_000), async (t) => {
    assert.ok(tunnel);
    const at = await tunnel.forward(addresses[0]!, 8999);
    const s = performance.now();
    const err = await request(at).then(
      (r) => assert.fail(`answered ${r.status}`),
      (e: NodeJS.ErrnoException) => e,
    );
    assert.match(String(err.code ?? err.message), /ECONNRESET|socket hang up/);
    const ms = performance.now() - s;
    t.diagnostic(`the connection failed after ${ms.toFixed(0)} ms`);
    assert.ok(ms < 5_000, `took ${ms} ms`);
    // The tunnel is still fine for the others.
    assert.equal((await request(await tunnel.forward(addresses[0]!, 8000))).status, 200);
  });

  it(
    'an image the manager cannot pull, a manager that does not answer: clear errors, nothing left',
    budget(1_000),
    async () => {
      const missing = `${REGISTRY}/${APP}-missing@sha256:${'0'.repeat(64)}`;
      const before = await tunnelContainers();
      const err = await openTunnel(manager, { app: APP, image: missing, network }).then(
        () => assert.fail('opened'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SwitchyardError, String(err));
      assert.equal(err.code, 'START_FAILED');
      assert.ok(
        err.message.startsWith(`the swarm manager at unix://${SOCK(1)} could not pull ${missing}: `),
        err.message,
      );
      assert.deepEqual(await tunnelContainers(), before);
      const Dockerode = (await import('dockerode')).default;
      const nowhere = new Dockerode({ socketPath: '/run/sysw/nowhere.sock' });
      const down = await openTunnel(nowhere, { app: APP, image, network }).then(
        () => assert.fail('opened'),
        (e: unknown) => e,
      );
      assert.ok(down instanceof SwitchyardError, String(down));
      assert.equal(down.code, 'DOCKER_UNREACHABLE');
      assert.match(down.message, /cannot reach the swarm manager at unix:\/\/\/run\/sysw\/nowhere\.sock/);
    },
  );

  it('close() leaves no tunnel container on the manager, and the forwards stop', budget(2_000), async (t) => {
    assert.ok(tunnel);
    const at = await tunnel.forward(addresses[0]!, 8000);
    const s = performance.now();
    await tunnel.close();
    t.diagnostic(`closed in ${(performance.now() - s).toFixed(0)} ms`);
    await tunnel.close();
    assert.deepEqual(await tunnelContainers(), []);
    await assert.rejects(request(at), /ECONNREFUSED/);
    await assert.rejects(tunnel.forward(addresses[0]!, 8000), /the tunnel into .* is closed/);
    tunnel = undefined;
  });

  it('a CLI process killed with SIGKILL leaves no tunnel container', budget(5_000), async (t) => {
    const script = [
      "import Docker from 'dockerode';",
      `const { openTunnel } = await import(${JSON.stringify(path.join(ROOT, 'src/runtime/swarm/tunnel.ts'))});`,
      `const t = await openTunnel(new Docker({ socketPath: ${JSON.stringify(SOCK(1))} }),`,
      `  { app: ${JSON.stringify(APP)}, image: ${JSON.stringify(image)}, network: ${JSON.stringify(network)} });`,
      `const at = await t.forward(${JSON.stringify(addresses[0])}, 8000);`,
      'process.stdout.write(JSON.stringify({ container: t.container, at }) + "\\n");',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.once('exit', (code) => reject(new Error(`the child exited (${code}): ${stderr}`)));
      });
      const { container, at } = JSON.parse(line) as { container: string; at: { host: string; port: number } };
      assert.deepEqual(await tunnelContainers(), [container]);
      assert.equal((await request(at)).status, 200, 'the child forwards');
      child.kill('SIGKILL');
      const s = performance.now();
      await waitFor(
        'the tunnel container to go',
        async () => ((await tunnelContainers()).length === 0 ? true : undefined),
        15_000,
      );
      t.diagnostic(`the container was gone ${(performance.now() - s).toFixed(0)} ms after the kill`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
