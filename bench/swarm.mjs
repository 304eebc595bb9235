#!/usr/bin/env node
// Docker Swarm (issue 13) against the single-machine Docker runtime, in ONE run on the test swarm
// of scripts/swarm-infra.sh (three Docker engines in network namespaces of this machine, 10.77.0.11-13):
//  1. deploy wall time: the same tiny app (one `api` service, 2 instances, a node http server
//     answering JSON, built from a Dockerfile on switchyard/base:bookworm) as a `runtime: swarm`
//     project (the config of test/e2e/swarm-cycle.test.ts: edge proxy on every node, images pushed
//     to 10.77.0.1:5000) and as a `runtime: docker` project (built-in proxy on 127.0.0.1). Each:
//     `init` once (timed), then --rounds timed `deploy --auto-switch`, each after a new VERSION file
//     (so a new image is built), the two runtimes alternating; the real CLI as a child process
//     (dist/switchyard.mjs, cwd = the project, no TTY).
//  2. throughput with the swarm project live: wrk -t2 on one edge node (10.77.0.11), then two wrk
//     processes at once on two edge nodes (.11 and .12, half the connections each, req/s summed),
//     and the docker project's built-in proxy (127.0.0.1) for comparison; a 2 s warm-up each, then
//     --rounds alternating measured runs of --duration (median reported, all kept in `samples`).
// Everything is removed at the end, also on failure: `down` in each project, then what is left of
// the app on the swarm, its nodes and this machine's engine (bench/lib/swarm.mjs).
// --edge nginx: the swarm project's edge proxy is nginx (proxy.kind nginx) instead of the built-in one.
// Usage: npm run build && node bench/swarm.mjs [--rounds 3] [--duration 8] [--connections 50] [--edge builtin|nginx]
//   [--merge]
// Writes bench/out/swarm.json, or swarm-nginx.json with --edge nginx (--merge: also into
// bench/results.json as `swarm` or `swarmNginx`). Needs the test
// swarm up (scripts/swarm-infra.sh up), wrk and dist/. Talks to 127.0.0.1 and 10.77.0.11-13 only.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './lib/net.mjs';
import { args, opt, root } from './lib/options.mjs';
import { mergeIntoResults } from './lib/results.mjs';
import { cleanupDockerApp, cleanupSwarmApp, leftovers, NODE_ADDR, REGISTRY, SOCK, swarmDown } from './lib/swarm.mjs';
import { runWrk } from './lib/wrk.mjs';

const loadBefore = os.loadavg()[0];
const rounds = Number(opt('rounds', '3'));
const duration = Number(opt('duration', '8'));
const connections = Number(opt('connections', '50'));
const edge = opt('edge', 'builtin');
const cli = path.join(root, 'dist', 'switchyard.mjs');
const BASE = 'switchyard/base:bookworm';
const CLI_TIMEOUT_MS = 300_000;

function fail(message) {
  console.error(`bench/swarm.mjs: ${message}`);
  process.exit(1);
}
if (!(rounds >= 1) || !(duration >= 1) || !(connections >= 4))
  fail('--rounds >= 1, --duration >= 1, --connections >= 4');
if (edge !== 'builtin' && edge !== 'nginx') fail(`--edge is builtin or nginx, not ${edge}`);
if (!fs.existsSync(cli)) fail('dist/switchyard.mjs is missing: run `npm run build` first');
if (spawnSync('wrk', ['-v']).error) fail('wrk is not installed: run scripts/setup-infra.sh (or apt-get install wrk)');
const down = swarmDown();
if (down !== undefined)
  fail(`the test swarm is not up (bash scripts/swarm-infra.sh status failed); run scripts/swarm-infra.sh up\n${down}`);

const SERVER = `
const http = require('http');
const fs = require('fs');
const e = process.env;
const version = fs.readFileSync('/srv/VERSION', 'utf8').trim();
const server = http.createServer((q, s) => {
  s.setHeader('content-type', 'application/json');
  s.end(JSON.stringify({ colour: e.SWITCHYARD_COLOUR, instance: e.SWITCHYARD_INSTANCE, version }));
}).listen(+e.PORT, '0.0.0.0');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
const DOCKERFILE = `FROM ${BASE}\nCOPY server.js VERSION /srv/\nCMD ["node", "/srv/server.js"]\n`;

/** The part both configs share: the api service, its smoke step, the drain. */
const common = `proxy:
  listen: { http: PORT, host: HOST }
  routes: [{ path: /, service: api }]
services:
  api:
    build: ./api
    port: 8000
    instances: 2
    health: { path: /health }
    stopTimeout: 5s
checks:
  smoke:
    - name: answers
      request: { path: / }
      expect: { status: 200 }
deploy:
  drainTimeout: 5s
`;

const swarmConfig = (app, port) =>
  `app: ${app}
runtime: swarm
swarm:
  manager: unix://${SOCK(1)}
  registry: ${REGISTRY}
  edge: { base: ${BASE} }
${common.replace('proxy:\n', `proxy:\n  kind: ${edge}\n`).replace('PORT', String(port)).replace('HOST', '0.0.0.0')}`;

const dockerConfig = (app, port) =>
  `app: ${app}\nruntime: docker\n${common.replace('PORT', String(port)).replace('HOST', '127.0.0.1')}`;

const running = new Set();
/** The signal that stops the run: no command starts after it. */
let stopping;

/** The real CLI in the project folder, no TTY, bounded; its exit code, output and wall time. */
function sy(dir, argv, timeoutMs = CLI_TIMEOUT_MS) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...argv], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, out, ms: Math.round(performance.now() - t0) });
    });
  });
}

/** GET / on host:port: status, X-Switchyard-Env and the JSON body's version. */
function probe(host, port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        let version;
        try {
          version = JSON.parse(body).version;
        } catch {}
        resolve({ status: res.statusCode, colour: res.headers['x-switchyard-env'], version });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}:${port}/ timed out`)));
    req.on('error', reject);
  });
}

/**
 * The CLI's step lines (`[2/9] Building and starting green... ✓ (3.1s) detail`) as { title, ms }:
 * where a command's time goes, to the CLI's precision (ms under 1 s, then tenths of a second).
 */
function stepsOf(out) {
  const toMs = (d) => {
    const m = /^(?:(\d+)m)?(?:([\d.]+)(ms|s))?$/.exec(d);
    return m ? Math.round(Number(m[1] ?? 0) * 60_000 + Number(m[2] ?? 0) * (m[3] === 'ms' ? 1 : 1000)) : undefined;
  };
  return [...out.matchAll(/^\[\d+\/\d+\] (.*?)\.\.\. [✓✗–] \(([\dms.]+)\)/gmu)].map((m) => ({
    title: m[1],
    ms: toMs(m[2]),
  }));
}

/** A project folder: switchyard.yml, api/{server.js,Dockerfile,VERSION}. */
function project(kind, app, port, hosts) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sy-bench-swarm-${kind}-`));
  fs.mkdirSync(path.join(dir, 'api'));
  fs.writeFileSync(path.join(dir, 'api', 'server.js'), SERVER);
  fs.writeFileSync(path.join(dir, 'api', 'Dockerfile'), DOCKERFILE);
  fs.writeFileSync(path.join(dir, 'api', 'VERSION'), 'v1\n');
  fs.writeFileSync(path.join(dir, 'switchyard.yml'), (kind === 'swarm' ? swarmConfig : dockerConfig)(app, port));
  const p = { kind, app, port, hosts, dir, version: 'v1', init: [], deploy: [], initialised: false };
  p.steps = { init: [], deploy: [] };
  /** Runs a timed command; fails when it fails or when a host does not answer from the new version. */
  p.timed = async (what, argv) => {
    if (stopping) throw new Error(`stopped by ${stopping}`);
    p.initialised = true;
    const r = await sy(dir, argv);
    if (r.code !== 0) throw new Error(`${kind}: switchyard ${argv.join(' ')} exited ${r.code}:\n${r.out}`);
    for (const h of hosts) {
      const a = await probe(h, port);
      if (a.status !== 200 || a.version !== p.version)
        throw new Error(`${kind}: after ${argv[0]}, ${h}:${port} answered ${JSON.stringify(a)}, not ${p.version}`);
    }
    p[what].push(r.ms);
    p.steps[what].push(stepsOf(r.out));
    console.log(`${kind}: ${argv.join(' ')} (${p.version}) in ${r.ms} ms`);
  };
  p.bump = (v) => {
    p.version = v;
    fs.writeFileSync(path.join(dir, 'api', 'VERSION'), `${v}\n`);
  };
  return p;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : Math.round(((s[h - 1] + s[h]) / 2) * 100) / 100;
};
const timing = (samplesMs) => ({ medianMs: median(samplesMs), samplesMs });
const ratio = (a, b) => Number((a / b).toFixed(2));

const tag = randomBytes(3).toString('hex');
// Ports: the swarm's host-mode port on every node, outside the range the swarm e2e tests pick.
const swarmP = project('swarm', `sybsw${tag}`, 31_000 + Math.floor(Math.random() * 8000), [1, 2, 3].map(NODE_ADDR));
const dockerP = project('docker', `sybdk${tag}`, await freePort(), ['127.0.0.1']);
const projects = [swarmP, dockerP];

/** This machine's processes ({ pid, cmd }) whose command line names one of `dirs`. */
function processesOf(dirs) {
  const pids = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (dirs.some((d) => cmd.includes(d))) pids.push({ pid: Number(e), cmd });
  }
  return pids;
}

/** Once, however often it is called (the signal handler and the `finally` both wait for the same). */
let cleaning;
const cleanup = () => {
  cleaning ??= removeEverything();
  return cleaning;
};
async function removeEverything() {
  for (const c of running) c.kill('SIGKILL');
  for (const p of projects) {
    if (p.initialised) {
      // --force-unlock: a command killed by a signal above leaves its lock.
      const r = await sy(p.dir, ['down', '--force-unlock'], 180_000);
      if (r.code !== 0) console.error(`${p.kind}: switchyard down exited ${r.code}:\n${r.out}`);
    }
  }
  // The docker project's supervisor exits by itself once idle for 5 s after `down`; a `down` that
  // failed leaves it and the proxy daemon: stop those by pid, found by the project folder in their
  // command line.
  const dirs = projects.map((p) => p.dir);
  for (let i = 0; i < 40 && processesOf(dirs).length; i++) await new Promise((r) => setTimeout(r, 250));
  for (const { pid, cmd } of processesOf(dirs)) {
    console.error(`stopping pid ${pid}, left running by a project: ${cmd}`);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  await new Promise((r) => setTimeout(r, processesOf(dirs).length ? 3000 : 0));
  for (const { pid } of processesOf(dirs))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  await cleanupSwarmApp(swarmP.app).catch((e) => console.error(`cleanup of ${swarmP.app}: ${e.message}`));
  await cleanupDockerApp(dockerP.app).catch((e) => console.error(`cleanup of ${dockerP.app}: ${e.message}`));
  for (const p of projects) fs.rmSync(p.dir, { recursive: true, force: true });
  const left = [
    ...leftovers(swarmP.app),
    ...leftovers(dockerP.app),
    ...processesOf(dirs).map((x) => `process ${x.pid}: ${x.cmd}`),
  ];
  if (left.length) console.error(`left behind after cleanup:\n  ${left.join('\n  ')}`);
  else console.log(`cleaned up: nothing of ${swarmP.app} or ${dockerP.app} is left`);
}
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    console.error(`${sig}: cleaning up`);
    stopping = sig;
    cleanup().finally(() => process.exit(1));
  });

/** One measured wrk run of each setup; `seconds` long. */
async function wrkSetups(seconds) {
  if (stopping) throw new Error(`stopped by ${stopping}`);
  const swarmUrl = (n) => `http://${NODE_ADDR(n)}:${swarmP.port}/`;
  const one = await runWrk({ url: swarmUrl(1), connections, threads: 2, seconds });
  const half = Math.floor(connections / 2);
  const pair = await Promise.all(
    [1, 2].map((n) => runWrk({ url: swarmUrl(n), connections: half, threads: 2, seconds })),
  );
  const docker = await runWrk({ url: `http://127.0.0.1:${dockerP.port}/`, connections, threads: 2, seconds });
  return { one, pair, docker };
}

let result;
try {
  console.log(`apps ${swarmP.app} (swarm, port ${swarmP.port}) and ${dockerP.app} (docker, port ${dockerP.port})`);
  for (const p of projects) await p.timed('init', ['init']);
  for (let r = 0; r < rounds; r++)
    for (const p of projects) {
      p.bump(`v${r + 2}`);
      await p.timed('deploy', ['deploy', '--auto-switch']);
    }

  // Throughput: a warm-up of every setup, then alternating rounds (a slow moment lands on each).
  await wrkSetups(2);
  const samples = { swarmOneNode: [], swarmTwoNodes: [], dockerBuiltin: [] };
  for (let r = 0; r < rounds; r++) {
    const { one, pair, docker } = await wrkSetups(duration);
    const bad = [
      ['swarm, one node', one],
      ...pair.map((w, i) => [`swarm, node ${i + 1} of two`, w]),
      ['docker', docker],
    ].filter(([, w]) => w.errors > 0);
    if (bad.length) throw new Error(`wrk saw errors: ${bad.map(([k, w]) => `${k}: ${w.errors}`).join(', ')}`);
    samples.swarmOneNode.push(one);
    samples.swarmTwoNodes.push({
      reqPerSec: pair[0].reqPerSec + pair[1].reqPerSec,
      p50ms: Math.max(pair[0].p50ms, pair[1].p50ms),
      p99ms: Math.max(pair[0].p99ms, pair[1].p99ms),
      perNode: pair.map((w, i) => ({ node: NODE_ADDR(i + 1), ...w })),
    });
    samples.dockerBuiltin.push(docker);
    console.log(
      `round ${r + 1}/${rounds}: swarm one node ${one.reqPerSec} req/s (p99 ${one.p99ms} ms), ` +
        `two nodes ${pair[0].reqPerSec} + ${pair[1].reqPerSec} req/s, ` +
        `docker built-in proxy ${docker.reqPerSec} req/s (p99 ${docker.p99ms} ms)`,
    );
  }
  const summary = (k) => ({
    reqPerSec: median(samples[k].map((w) => w.reqPerSec)),
    p50ms: median(samples[k].map((w) => w.p50ms)),
    p99ms: median(samples[k].map((w) => w.p99ms)),
  });
  const swarmDeploy = timing(swarmP.deploy);
  const dockerDeploy = timing(dockerP.deploy);
  const throughput = {
    tool: `wrk -t2 -c${connections} -d${duration}s; two nodes: two wrk -t2 -c${Math.floor(connections / 2)} at once`,
    connections,
    durationS: duration,
    rounds,
    swarmOneNode: { url: `http://${NODE_ADDR(1)}:${swarmP.port}/`, ...summary('swarmOneNode') },
    swarmTwoNodes: {
      urls: [1, 2].map((n) => `http://${NODE_ADDR(n)}:${swarmP.port}/`),
      ...summary('swarmTwoNodes'),
      note: 'reqPerSec: the two nodes summed per round; p50/p99: the worse node of each round',
    },
    dockerBuiltin: { url: `http://127.0.0.1:${dockerP.port}/`, ...summary('dockerBuiltin') },
  };
  throughput.twoNodesVsOne = ratio(throughput.swarmTwoNodes.reqPerSec, throughput.swarmOneNode.reqPerSec);
  throughput.twoNodesVsOneRounds = samples.swarmOneNode.map((w, i) =>
    ratio(samples.swarmTwoNodes[i].reqPerSec, w.reqPerSec),
  );
  throughput.swarmOneNodeVsDocker = ratio(throughput.swarmOneNode.reqPerSec, throughput.dockerBuiltin.reqPerSec);
  throughput.samples = samples;
  result = {
    when: new Date().toISOString(),
    rounds,
    edge,
    app: 'one `api` service, 2 instances: a node http server answering JSON, on switchyard/base:bookworm',
    deploy: {
      swarm: { init: timing(swarmP.init), deploy: swarmDeploy, steps: swarmP.steps },
      docker: { init: timing(dockerP.init), deploy: dockerDeploy, steps: dockerP.steps },
      swarmVsDocker: ratio(swarmDeploy.medianMs, dockerDeploy.medianMs),
    },
    throughput,
    machine: { cpus: os.cpus().length, loadAvg1mBefore: Number(loadBefore.toFixed(2)) },
    notes: [
      `All three swarm nodes are network namespaces of this one machine sharing its ${os.cpus().length} cores ` +
        'with wrk, the edge proxies, the tasks and the Docker engines: a second edge node adds a second ' +
        'proxy process, not more CPU, so two nodes measure how the edge spreads load, not how it scales ' +
        'on real machines.',
      `Swarm path: wrk -> edge proxy (${edge === 'nginx' ? 'nginx, naming the tasks' : 'the built-in proxy'} ` +
        'as a global service, host-mode port) on the node -> ' +
        'one of the two tasks over the overlay network (VXLAN when the task runs on another node). Docker ' +
        "path: wrk -> the built-in proxy daemon on 127.0.0.1 -> a container's port published on 127.0.0.1 " +
        "(through Docker's userland docker-proxy).",
      'Deploy wall time is spawn to exit of `switchyard deploy --auto-switch`, each after a new VERSION ' +
        '(a new image); the swarm deploy also pushes the image to the registry, waits for the tasks on the ' +
        'nodes and switches every edge node through the tunnel container.',
      'Two-node wrk runs are two wrk processes with 2 threads each (4 load threads against 2 for one node).',
    ],
  };
} finally {
  await cleanup();
}
const out = path.join(root, 'bench', 'out', edge === 'nginx' ? 'swarm-nginx.json' : 'swarm.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
const brief = (d) => ({ init: d.init, deploy: d.deploy });
console.log(
  JSON.stringify({
    deploy: {
      swarm: brief(result.deploy.swarm),
      docker: brief(result.deploy.docker),
      swarmVsDocker: result.deploy.swarmVsDocker,
    },
    throughput: { ...result.throughput, samples: undefined },
  }),
);
if (args.includes('--merge')) mergeIntoResults(edge === 'nginx' ? 'swarmNginx' : 'swarm', result, loadBefore);
process.exit(0);
