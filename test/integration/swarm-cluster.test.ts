/**
 * The three-node swarm that scripts/swarm-infra.sh builds (network namespaces, an engine in each,
 * Debian's registry on the bridge), used the way the swarm runtime will use it (issue 13, see
 * docs/swarm.md): an image built on this machine is pushed by src/runtime/docker/push.ts and run
 * pinned by digest; a colour's service with two replicas (`endpoint_mode: dnsrr`) on the project's
 * overlay network; an edge service on every node (`mode: global`) with a host-mode published port
 * that forwards to the colour's tasks found by `tasks.<service>` DNS. Asserted: three ready nodes;
 * the replicas run from exactly the pushed digest; every node's published port answers (traffic
 * from this machine only to the namespaces' own addresses), and the answers come from both tasks.
 * Fails (never skips) when the swarm is not up: CI runs `scripts/swarm-infra.sh up` first.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { pushImage } from '../../src/runtime/docker/index.js';
import { dockerClient, uniqueApp, waitFor } from '../helpers/docker.js';
import { budget } from '../helpers/budget.js';
import { removeNodeImages } from '../helpers/swarm.js';

const MANAGER = 'unix:///run/sysw/n1.sock';
const REGISTRY = '10.77.0.1:5000';
const NODES = ['10.77.0.11', '10.77.0.12', '10.77.0.13'];
const APP = uniqueApp('sysw');
const LOCAL = `${APP}-api:r1`;
const EDGE_PORT = 18_000 + (process.pid % 1000);
let docker: Docker;
let dir: string;

const swarm = (...args: string[]) =>
  execFileSync('docker', ['-H', MANAGER, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** One tiny program for both roles: the app (answers with its task's hostname) or the edge (forwards). */
const SERVER = `
const http = require('http'), os = require('os'), dns = require('dns');
const upstream = process.env.UPSTREAM;
let n = 0;
http.createServer((req, res) => {
  if (!upstream) return res.end(JSON.stringify({ task: os.hostname(), colour: process.env.COLOUR }));
  dns.lookup(upstream, { all: true }, (err, addrs) => {
    if (err || addrs.length === 0) { res.statusCode = 502; return res.end(String(err)); }
    const a = addrs[n++ % addrs.length].address;
    http.get({ host: a, port: 8000, path: req.url }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); })
      .on('error', (e) => { res.statusCode = 502; res.end(e.message); });
  });
}).listen(8000, '0.0.0.0');
`;

before(async () => {
  let nodes = '';
  try {
    nodes = swarm('node', 'ls', '--format', '{{.Hostname}} {{.Status}}');
  } catch (e) {
    assert.fail(`the test swarm's manager does not answer at ${MANAGER}: run scripts/swarm-infra.sh up (${e})`);
  }
  docker = await dockerClient();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-swarm-'));
  await fs.writeFile(path.join(dir, 'server.js'), SERVER);
  await fs.writeFile(path.join(dir, 'Dockerfile'), 'FROM switchyard/base:bookworm\nCOPY server.js /server.js\n');
  execFileSync('docker', ['build', '-q', '-t', LOCAL, dir], { stdio: 'pipe' });
  assert.deepEqual(nodes.split('\n').sort(), ['sysw-n1 Ready', 'sysw-n2 Ready', 'sysw-n3 Ready']);
}, budget(15_000));

after(async () => {
  for (const s of [`${APP}_api_blue`, `${APP}_edge`]) {
    try {
      swarm('service', 'rm', s);
    } catch {
      // not created
    }
  }
  // Tasks leave the network a moment after their service is gone.
  await waitFor(
    'the overlay network to be removable',
    async () => {
      try {
        swarm('network', 'rm', `${APP}-net`);
        return true;
      } catch (e) {
        return /not found|No such network/i.test(String((e as { stderr?: string }).stderr)) ? true : undefined;
      }
    },
    30_000,
    500,
  ).catch(() => undefined);
  for (const ref of [LOCAL, `${REGISTRY}/${LOCAL}`])
    execFileSync('docker', ['image', 'rm', '-f', ref], { stdio: 'pipe' });
  await removeNodeImages(APP);
  await fs.rm(dir, { recursive: true, force: true });
}, budget(15_000));

test(
  'a pushed image runs pinned on the swarm; every edge node forwards to both tasks over the overlay',
  budget(40_000),
  async () => {
    const pushed = await pushImage(docker, LOCAL, REGISTRY);
    swarm('network', 'create', '-d', 'overlay', `${APP}-net`);
    // Both from the pushed image, on the project's overlay; `how`: what makes each one itself.
    const create = (name: string, how: string[], env: string) =>
      swarm(
        'service',
        'create',
        '-q',
        '--detach',
        '--name',
        name,
        '--network',
        `${APP}-net`,
        ...how,
        '-e',
        env,
        pushed.pinned,
        'node',
        '/server.js',
      );
    create(`${APP}_api_blue`, ['--replicas', '2', '--endpoint-mode', 'dnsrr'], 'COLOUR=blue');
    create(
      `${APP}_edge`,
      ['--mode', 'global', '--publish', `mode=host,target=8000,published=${EDGE_PORT}`],
      `UPSTREAM=tasks.${APP}_api_blue`,
    );
    // Docker 20.10 cannot wait on a service: poll its tasks until every one runs.
    const running = (svc: string) =>
      swarm('service', 'ps', svc, '--filter', 'desired-state=running', '--format', '{{.CurrentState}}')
        .split('\n')
        .filter((l) => l.startsWith('Running')).length;
    await waitFor(
      'two api tasks and three edge tasks running',
      async () => (running(`${APP}_api_blue`) === 2 && running(`${APP}_edge`) === 3 ? true : undefined),
      120_000,
      500,
    );
    const image = swarm(
      'service',
      'inspect',
      `${APP}_api_blue`,
      '--format',
      '{{.Spec.TaskTemplate.ContainerSpec.Image}}',
    );
    assert.equal(image, pushed.pinned, 'the service runs exactly the pushed digest');

    for (const node of NODES) {
      const tasks = new Set<string>();
      await waitFor(
        `${node}:${EDGE_PORT} to answer from both api tasks`,
        async () => {
          const res = await fetch(`http://${node}:${EDGE_PORT}/`, { signal: AbortSignal.timeout(2_000) });
          const body = (await res.json()) as { task: string; colour: string };
          assert.equal(res.status, 200);
          assert.equal(body.colour, 'blue');
          tasks.add(body.task);
          return tasks.size === 2 ? true : undefined;
        },
        20_000,
        50,
      );
    }
  },
);
