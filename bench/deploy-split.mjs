#!/usr/bin/env node
// Where the time of a whole `switchyard deploy --auto-switch --json` goes: its wall time (spawn to
// exit) split into the steps the CLI reports as JSON events
// ({"event":"step","index":..,"title":..,"status":"ok","ms":..}), for two setups:
//  - process: test/fixtures/app (runtime process, built-in proxy);
//  - docker:  examples/docker + examples/app (runtime docker, nginx on the host, shared PostgreSQL
//             backed up inside its container before each deploy: backupShare = backup / wall),
//             copied to a temp dir under a unique app name, as test/e2e/docker-cycle.test.ts does;
//             its database is the example's, a few rows;
//  - process100k: the process setup again, now with `backup: { kind: postgres, url }` against a
//             private PostgreSQL (bench/lib/postgres.mjs, fsync on) holding the generated
//             `customers` table of --backup-rows rows (100k, as bench/backup.mjs): what a real
//             backup costs a deploy (custom format, pg_dump + pg_restore --list + fsync).
// Each: `init` first (untimed), then --rounds timed deploys (a version bump before each, so every
// deploy ships a change), then everything it made is removed (for docker: `down --shared` and every
// container, volume, image and network named after the app). Idle machine, no load.
// buildStart is also split into build (snapshot + image build) and start (containers/processes up,
// backends set in the proxy), from the step's progress events.
// "other" is the wall time no step accounts for: Node starting and loading the CLI, config, lock,
// opening the proxy, pruning old releases, exit.
// Usage: npm run build && node bench/deploy-split.mjs [--rounds 3] [--only process|docker|process100k]
//        [--backup-rows 100000] [--merge]
// Writes bench/out/deploy-split.json (--merge: also into bench/results.json as `deploySplit`, for a
// re-run of this benchmark alone). Needs the Docker engine (fails if `docker info` fails), nginx,
// and PostgreSQL's server and client programs (initdb, pg_ctl, pg_dump).
import { freePort } from './lib/net.mjs';
import { fillCustomers, startPostgres } from './lib/postgres.mjs';
import { mergeIntoResults } from './lib/results.mjs';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'switchyard.mjs');
const arg = (n, d) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);
const rounds = Number(arg('rounds', '3'));
const only = arg('only', undefined);
const backupRows = Number(arg('backup-rows', '100000'));
const want = (k) => only === undefined || only === k;
if (only !== undefined && !['process', 'docker', 'process100k'].includes(only)) {
  console.error(`--only takes process, docker or process100k (got ${only})`);
  process.exit(2);
}
const BASE = process.env.SWITCHYARD_BASE ?? 'switchyard/base:bookworm';
const COMMAND_TIMEOUT_MS = 240_000;

if (!fs.existsSync(cli)) {
  console.error('dist/switchyard.mjs is missing: run `npm run build` first');
  process.exit(1);
}

/** Step titles -> the split the benchmark reports (titles name the colour, so match their start). */
const STEPS = [
  ['target', /^Determining deployment target/],
  ['backup', /^Backing up database/],
  ['pull', /^Pulling latest code/],
  ['buildStart', /^Building and starting /],
  ['health', /^Running health checks /],
  ['migrate', /^Running database migration/],
  ['smoke', /^Running smoke tests /],
  ['switchVerify', /^Switching traffic /],
  ['drainStop', /^Stopping /],
];
const KEYS = [...STEPS.map(([k]) => k), 'build', 'start', 'other', 'wall'];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
};

/** Runs the built CLI in `cwd`; resolves with wall ms and the JSON events, rejects on exit != 0. */
function run(cwd, env, args, timeoutMs = COMMAND_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Math.round(performance.now() - t0);
      if (code !== 0)
        return reject(
          new Error(`switchyard ${args.join(' ')} exited ${code ?? signal} after ${wallMs} ms:\n${out}${err}`),
        );
      const events = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return undefined;
          }
        })
        .filter(Boolean);
      resolve({ wallMs, events });
    });
  });
}

/** One timed deploy, split by its step events. */
async function timedDeploy(cwd, env) {
  const { wallMs, events } = await run(cwd, env, ['--json', 'deploy', '--auto-switch']);
  const split = Object.fromEntries(STEPS.map(([k]) => [k, 0]));
  const detail = {};
  for (const e of events) {
    if (e.event !== 'step' || e.status === 'start') continue;
    const hit = STEPS.find(([, re]) => re.test(e.title));
    if (!hit) throw new Error(`unexpected step title ${JSON.stringify(e.title)}`);
    if (e.status === 'fail') throw new Error(`step ${e.title} failed: ${e.detail}`);
    split[hit[0]] += e.ms;
    if (e.detail) detail[hit[0]] = e.detail;
  }
  const stepsMs = Object.values(split).reduce((a, b) => a + b, 0);
  const result = events.find((e) => e.event === 'result');
  // build+start split further by the step's own progress events ("snapshot and build", then
  // "starting release ..."): their timestamps are ISO with milliseconds.
  const bs = events.find((e) => e.event === 'step' && e.status === 'start' && STEPS[3][1].test(e.title));
  const starting =
    bs && events.find((e) => e.event === 'progress' && e.index === bs.index && /^starting release /.test(e.text));
  const build = starting ? Date.parse(starting.time) - Date.parse(bs.time) : undefined;
  return {
    ...split,
    build,
    start: build === undefined ? undefined : split.buildStart - build,
    other: wallMs - stepsMs,
    wall: wallMs,
    commandMs: result?.ms,
    detail,
  };
}

async function scenario(name, { dir, cwd, env, bump, cleanup }) {
  const runs = [];
  try {
    const t0 = performance.now();
    await run(cwd, env, ['--json', 'init']);
    console.log(`${name}: init (untimed) done in ${Math.round(performance.now() - t0)} ms`);
    for (let i = 0; i < rounds; i++) {
      bump(i);
      const r = await timedDeploy(cwd, env);
      runs.push(r);
      console.log(`${name}: deploy ${i + 1}/${rounds}: ${KEYS.map((k) => `${k} ${r[k]}`).join(', ')} ms`);
    }
  } finally {
    await cleanup().catch((e) => console.error(`${name} cleanup: ${e.message}`));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const p50 = Object.fromEntries(
    KEYS.map((k) => [k, runs.some((r) => r[k] === undefined) ? null : median(runs.map((r) => r[k]))]),
  );
  // The backup's share of the whole deploy (issue: is a backup before every deploy affordable?).
  const backupShare = p50.backup && p50.wall ? Number((p50.backup / p50.wall).toFixed(3)) : 0;
  return { p50Ms: p50, backupShare, runs };
}

// --- (a) process runtime, built-in proxy, test/fixtures/app ---------------------------------------
// With `databaseUrl`: the project backs that database up before every deploy (custom format).
async function processScenario(name = 'process', databaseUrl = undefined) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-split-proc-'));
  fs.cpSync(path.join(root, 'test', 'fixtures', 'app'), dir, { recursive: true });
  const env = { ...process.env, SWITCHYARD_PORT: String(await freePort()), FORCE_COLOR: '0' };
  if (databaseUrl) {
    env.DATABASE_URL = databaseUrl;
    fs.appendFileSync(
      path.join(dir, 'switchyard.yml'),
      'backup: { kind: postgres, url: "${DATABASE_URL}", format: custom, timeout: 10m }\n',
    );
  }
  const behaviour = path.join(dir, 'behaviour.json');
  return scenario(name, {
    dir,
    cwd: dir,
    env,
    bump: (i) => fs.writeFileSync(behaviour, JSON.stringify({ version: `v${i + 2}`, mode: 'ok' })),
    cleanup: () => run(dir, env, ['down', '--force-unlock'], 60_000),
  });
}

// --- (c) the same, backing up a database of --backup-rows rows before every deploy --------------
async function process100kScenario() {
  const pg = await startPostgres();
  try {
    const scale = await fillCustomers(pg, backupRows);
    console.log(`process100k: ${backupRows} rows in customers, database ${scale.databaseMB} MB`);
    const out = await processScenario('process100k', pg.url());
    // The step's detail names each dump: "db-backup-... (3.5 MiB, verified, 0.6 s)".
    for (const r of out.runs)
      if (!/\.dump \([\d.]+ (KiB|MiB|GiB), verified/.test(r.detail.backup ?? ''))
        throw new Error(`process100k: no verified dump in the backup step: ${JSON.stringify(r.detail)}`);
    return { rows: backupRows, format: 'custom', ...scale, ...out };
  } finally {
    await pg.cleanup();
  }
}

// --- (b) docker runtime, nginx on the host, examples/docker ----------------------------------------
const docker = (...a) =>
  execFileSync('docker', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).trim();
const lines = (s) => s.split('\n').filter(Boolean);

function checkDocker() {
  try {
    docker('info', '--format', '{{.ServerVersion}}');
  } catch (e) {
    throw new Error(
      `deploy-split needs the Docker engine for its docker + nginx part, and \`docker info\` failed: ` +
        `${(e.stderr || e.message).toString().trim()}\n(start dockerd, or run scripts/setup-infra.sh as root)`,
    );
  }
  try {
    docker('image', 'inspect', '--format', '{{.Id}}', BASE);
  } catch {
    throw new Error(`the base image ${BASE} is missing: build it with scripts/setup-infra.sh (no registry needed)`);
  }
}

function removeDockerObjects(app) {
  const label = `label=switchyard.app=${app}`;
  for (const c of new Set([
    ...lines(docker('ps', '-aq', '--filter', `name=${app}-`)),
    ...lines(docker('ps', '-aq', '--filter', label)),
  ]))
    docker('rm', '-f', c);
  for (const v of new Set([
    ...lines(docker('volume', 'ls', '-q', '--filter', `name=${app}-`)),
    ...lines(docker('volume', 'ls', '-q', '--filter', label)),
  ]))
    docker('volume', 'rm', v);
  for (const i of lines(docker('images', '--format', '{{.Repository}}:{{.Tag}}')).filter((i) =>
    i.startsWith(`${app}-`),
  ))
    docker('image', 'rm', '-f', i);
  for (const i of lines(docker('images', '-q', '--filter', label))) docker('image', 'rm', '-f', i);
  for (const n of lines(docker('network', 'ls', '-q', '--filter', `name=${app}-`))) docker('network', 'rm', n);
}

async function dockerScenario() {
  checkDocker();
  const app = `sybenchsplit${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-split-docker-'));
  fs.cpSync(path.join(root, 'examples', 'app'), path.join(dir, 'app'), {
    recursive: true,
    filter: (s) => !/[/\\](data|\.switchyard|\.current-env)$/.test(s),
  });
  fs.cpSync(path.join(root, 'examples', 'docker'), path.join(dir, 'docker'), {
    recursive: true,
    filter: (s) => !/[/\\](\.switchyard|\.current-env)$/.test(s),
  });
  const yml = path.join(dir, 'docker', 'switchyard.yml');
  const text = fs.readFileSync(yml, 'utf8');
  if (!text.includes('app: ala'))
    throw new Error('examples/docker/switchyard.yml no longer says `app: ala`: update the rename here');
  fs.writeFileSync(yml, text.replace('app: ala', `app: ${app}`));
  const cwd = path.join(dir, 'docker');
  const env = {
    ...process.env,
    SWITCHYARD_PORT: String(await freePort()),
    POSTGRES_PASSWORD: `bench-${process.pid}-pg`,
    FORCE_COLOR: '0',
  };
  const version = path.join(dir, 'app', 'api', 'VERSION');
  const out = await scenario('docker', {
    dir,
    cwd,
    env,
    bump: (i) => fs.writeFileSync(version, `1.0.${i + 1}\n`),
    cleanup: async () => {
      await run(cwd, env, ['down', '--shared', '--force-unlock'], 120_000).catch((e) =>
        console.error(String(e.message)),
      );
      removeDockerObjects(app);
    },
  });
  const left =
    lines(docker('ps', '-aq', '--filter', `label=switchyard.app=${app}`)).length +
    lines(docker('volume', 'ls', '-q', '--filter', `name=${app}-`)).length;
  if (left) throw new Error(`${left} docker object(s) of ${app} are left after cleanup`);
  return { app, ...out };
}

const watchdog = setTimeout(() => {
  console.error('deploy-split: gave up after 14 minutes');
  process.exit(1);
}, 14 * 60_000);
watchdog.unref();

try {
  // Fail before spending minutes on the process part when the docker part cannot run.
  if (want('docker')) checkDocker();
  const result = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    rounds,
    steps: KEYS,
  };
  const loadBefore = os.loadavg()[0];
  if (want('process')) result.processBuiltin = await processScenario();
  if (want('process100k')) result.processBackup100k = await process100kScenario();
  if (want('docker')) {
    result.dockerNginx = {
      docker: docker('version', '--format', '{{.Server.Version}}'),
      nginx: spawnSync('nginx', ['-v'], { encoding: 'utf8', timeout: 10_000 })
        .stderr.trim()
        .replace(/^nginx version: /, ''),
      ...(await dockerScenario()),
    };
  }
  fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'out', 'deploy-split.json'), JSON.stringify(result, null, 2) + '\n');
  for (const k of ['processBuiltin', 'processBackup100k', 'dockerNginx'])
    if (result[k]) console.log(`${k} p50 ms: ${JSON.stringify(result[k].p50Ms)}, backupShare ${result[k].backupShare}`);
  if (process.argv.includes('--merge')) mergeIntoResults('deploySplit', result, loadBefore);
  clearTimeout(watchdog);
} catch (e) {
  console.error(e.message ?? e);
  process.exit(1);
}
