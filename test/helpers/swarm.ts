/**
 * The test swarm of scripts/swarm-infra.sh, for tests: its three nodes (each a Docker engine in a
 * network namespace, on 10.77.0.11-13), its registry, docker on a node, and a cleanup that removes
 * everything of a test's app from the swarm (services, secrets, overlay network, the edge state
 * volume and the pulled images on every node, its local images). Test traffic goes only to the
 * nodes' addresses on the bridge the script made (10.77.0.0/24) and to loopback.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { cleanupApp, dockerClient } from './docker.ts';
import { CLI } from './project.ts';
import { startKeepAliveLoad, type Load } from './kill-steps.ts';

export const SOCK = (n: number): string => `/run/sysw/n${n}.sock`;
export const NODES = [1, 2, 3] as const;
export const NODE_ADDR = (n: number): string => `10.77.0.1${n}`;
export const REGISTRY = '10.77.0.1:5000';

/** docker against node n; '' when it refuses and `quiet`. */
export function onNode(n: number, args: string[], quiet = false): string {
  try {
    return execFileSync('docker', ['-H', `unix://${SOCK(n)}`, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    });
  } catch (e) {
    if (quiet) return '';
    throw e;
  }
}

export async function managerClient(): Promise<Docker> {
  const Dockerode = (await import('dockerode')).default;
  const m = new Dockerode({ socketPath: SOCK(1) });
  await m.ping().catch((e: unknown) => {
    assert.fail(`the test swarm's manager does not answer at ${SOCK(1)}: run scripts/swarm-infra.sh up (${e})`);
  });
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The test app every swarm e2e deploys: a node server on $PORT answering its colour, instance and
 * version (api/VERSION) as JSON, saying so on start, and closing cleanly on SIGTERM.
 */
const TEST_SERVER = `
const http = require('http');
const fs = require('fs');
const e = process.env;
const version = fs.readFileSync('/srv/VERSION', 'utf8').trim();
const server = http.createServer((q, s) => {
  s.setHeader('content-type', 'application/json');
  s.end(JSON.stringify({ colour: e.SWITCHYARD_COLOUR, instance: e.SWITCHYARD_INSTANCE, version }));
}).listen(+e.PORT, '0.0.0.0', () => console.log('listening as instance', e.SWITCHYARD_INSTANCE, version));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** A temp project folder with the test app in api/ (version v1); switchyard.yml is the caller's. */
export async function makeSwarmApp(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.mkdir(path.join(dir, 'api'));
  await fs.writeFile(path.join(dir, 'api', 'server.js'), TEST_SERVER);
  await fs.writeFile(path.join(dir, 'api', 'VERSION'), 'v1\n');
  await fs.writeFile(
    path.join(dir, 'api', 'Dockerfile'),
    'FROM switchyard/base:bookworm\nCOPY server.js VERSION /srv/\nCMD ["node", "/srv/server.js"]\n',
  );
  return dir;
}

export interface SwarmConfigOptions {
  app: string;
  port: number;
  manager?: string;
  registry?: string;
  /** YAML flow list of swarm.constraints. */
  constraints?: string;
  instances?: number;
  stopTimeout?: string;
  /** Lines under `deploy:`, indented two spaces. */
  deploy?: string;
  /** Extra top-level YAML (a checks: section). */
  extra?: string;
  /** proxy.kind (default: builtin). */
  proxy?: 'builtin' | 'nginx';
}

/** switchyard.yml of the test app on the test swarm: its manager and registry, the edge on every node. */
export function swarmConfig(o: SwarmConfigOptions): string {
  return `
app: ${o.app}
runtime: swarm
swarm:
  manager: ${o.manager ?? `unix://${SOCK(1)}`}
  registry: ${o.registry ?? REGISTRY}
  constraints: ${o.constraints ?? '[]'}
  edge: { base: switchyard/base:bookworm }
proxy:
  kind: ${o.proxy ?? 'builtin'}
  listen: { http: ${o.port}, host: 0.0.0.0 }
  routes: [{ path: /, service: api }]
services:
  api:
    build: ./api
    port: 8000
    instances: ${o.instances ?? 2}
    health: { path: /health }
    stopTimeout: ${o.stopTimeout ?? '5s'}
deploy:
${o.deploy ?? '  drainTimeout: 5s'}
${o.extra ?? ''}`;
}

export interface CliRun {
  code: number | null;
  /** stdout and stderr, as they came. */
  out: string;
}

/** The built CLI run in `dir` (no TTY, no colours), killed at `timeoutMs`. */
export function runCli(dir: string, args: string[], timeoutMs = 240_000): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Removes every trace of `app` from the swarm, its nodes, the registry and this machine's engine. */
export async function cleanupSwarmApp(app: string): Promise<void> {
  const m = await managerClient();
  const label = { label: [`switchyard.app=${app}`] };
  const services = (await m.listServices({ filters: label })) as { ID: string }[];
  for (const s of services)
    await m
      .getService(s.ID)
      .remove()
      .catch(() => undefined);
  for (const c of (await m.listContainers({ all: true, filters: label })) as { Id: string }[])
    await m
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  // Tasks leave the nodes a moment after their services go; the network and volumes then can.
  for (let i = 0; i < 60; i++) {
    const left = (await m.listTasks({ filters: { label: [`switchyard.app=${app}`] } })) as unknown[];
    const any = NODES.some((n) => onNode(n, ['ps', '-aq', '--filter', `label=switchyard.app=${app}`], true).trim());
    if (left.length === 0 && !any) break;
    await sleep(500);
  }
  for (const s of (await m.listSecrets({ filters: label })) as { ID: string }[])
    await m
      .getSecret(s.ID)
      .remove()
      .catch(() => undefined);
  for (let i = 0; i < 30; i++) {
    const gone = await m
      .getNetwork(`${app}-net`)
      .remove()
      .then(
        () => true,
        (e: { statusCode?: number }) => e.statusCode === 404,
      );
    if (gone) break;
    await sleep(500);
  }
  for (const n of NODES) onNode(n, ['volume', 'rm', '-f', `${app}_edge_state`], true);
  await removeNodeImages(app);
  const builder = await dockerClient();
  await cleanupApp(builder, app).catch(() => undefined);
  for (const img of await builder.listImages())
    for (const t of (img.RepoTags ?? []).filter((x) => x.startsWith(`${REGISTRY}/${app}-`)))
      await builder
        .getImage(t)
        .remove()
        .catch(() => undefined);
}

/**
 * The app's images the nodes pulled from the registry, removed by reference, never by id: the
 * same build gives every app the same image id (the edge image, a test's identical app image).
 */
export async function removeNodeImages(app: string): Promise<void> {
  const left = (n: number) =>
    onNode(n, ['images', '--digests', '--format', '{{.Repository}}@{{.Digest}}'], true)
      .split('\n')
      .filter((l) => l.startsWith(`${REGISTRY}/${app}-`) && !l.endsWith('@<none>'));
  // A task's container stays a moment after its service is gone, and its image is in use until then.
  for (let i = 0; i < 40; i++) {
    let any = false;
    for (const n of NODES)
      for (const ref of new Set(left(n))) {
        onNode(n, ['image', 'rm', ref], true);
        any = true;
      }
    if (!any || NODES.every((n) => left(n).length === 0)) return;
    await sleep(500);
  }
}

/** The published port on every node: where users arrive on a swarm. */
export const edgeOrigins = (port: number): string[] => NODES.map((n) => `http://${NODE_ADDR(n)}:${port}`);

/**
 * A bounded keep-alive load (kill-steps.ts) against one node's published port: the test swarm's
 * node addresses only.
 */
export function startNodeLoad(
  origin: string,
  opts: { path: string; connections?: number; maxRequests: number; maxMs: number },
): Load {
  return startKeepAliveLoad(origin, {
    connections: 2,
    ...opts,
    allowed: (o) => assert.match(new URL(o).hostname, /^10\.77\.0\.1[1-3]$/, 'swarm load goes to the test nodes only'),
  });
}

/**
 * A runtime test's end: the app gone from the swarm (cleanupSwarmApp), and the manifest of the
 * image it pushed (`pinned`: `<registry>/<app>-<service>@sha256:...`) deleted from the registry.
 */
export async function cleanupPushedApp(app: string, service: string, pinned: string | undefined): Promise<void> {
  await cleanupSwarmApp(app);
  if (!pinned) return;
  const digest = pinned.split('@')[1]!;
  await fetch(`http://${REGISTRY}/v2/${app}-${service}/manifests/${digest}`, { method: 'DELETE' }).catch(
    () => undefined,
  );
}
