#!/usr/bin/env node
// The supervisor of the process runtime, measured through the real CLI and the built-in proxy (or
// nginx with --proxy nginx): the live api is SIGKILLed and /api/echo is polled through the public
// port every 5 ms until it answers 200 again.
//   isolated: kills spaced more than 30 s apart (each restart is the first after a stable period:
//             at once), `--isolated N` of them (default 20);
//   rapid:    kills 1 s after the service is back, `--rapid N` (default 10): the backoff grows
//             (0.5 s, 1 s, 2 s, ... up to 10 s) as it would for a crash loop;
//   proxy:    the process that holds the public port SIGKILLed (the built-in daemon; nginx's master
//             and its workers), `--proxy-kills N` (default 20), 1 s after each recovery: the
//             supervisor starts it again from its saved routing;
//   rssKb:    the supervisor's resident memory after the runs.
// Usage: npm run build && node bench/restart.mjs [--isolated 20] [--rapid 10] [--proxy-kills 20]
//        [--proxy builtin|nginx] [--merge]
// Writes bench/out/restart[-nginx].json. Talks to 127.0.0.1 only.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './lib/net.mjs';
import { opt, args, root } from './lib/options.mjs';
import { childrenOf, rssKb } from './lib/proc.mjs';
import { mergeIntoResults } from './lib/results.mjs';

const loadBefore = os.loadavg()[0];
const isolated = Number(opt('isolated', '20'));
const rapid = Number(opt('rapid', '10'));
const proxyKills = Number(opt('proxy-kills', '20'));
const proxyKind = opt('proxy', 'builtin');
if (!['builtin', 'nginx'].includes(proxyKind)) throw new Error(`--proxy must be builtin or nginx, got ${proxyKind}`);
const STABLE_MS = 30_000;
const cli = path.join(root, 'dist', 'switchyard.mjs');
const port = await freePort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-restart-'));
fs.cpSync(path.join(root, 'test', 'fixtures', 'app'), dir, { recursive: true });
const yml = path.join(dir, 'switchyard.yml');
fs.writeFileSync(yml, fs.readFileSync(yml, 'utf8').replace('kind: builtin', `kind: ${proxyKind}`));
const env = { ...process.env, SWITCHYARD_PORT: String(port) };
const sy = (a) => {
  const r = spawnSync(process.execPath, [cli, ...a], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`switchyard ${a.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
};
const apiPid = () => JSON.parse(fs.readFileSync(path.join(dir, '.switchyard/run/blue.json'), 'utf8')).services.api.pid;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = () =>
  new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/echo', agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });

async function killAndTime() {
  const pid = apiPid();
  process.kill(pid, 'SIGKILL');
  const t0 = performance.now();
  // The first answer may still come from the dying process's last moments: wait for a new pid's 200.
  while (performance.now() - t0 < 30_000) {
    if ((await get()) === 200 && apiPid() !== pid) return Math.round(performance.now() - t0);
    await sleep(5);
  }
  throw new Error('the api did not come back within 30 s');
}

const pidIn = (rel) =>
  Number(
    fs
      .readFileSync(path.join(dir, '.switchyard', rel), 'utf8')
      .trim()
      .split(/\s+/)[0],
  );

/** SIGKILLs the proxy (nginx: the master and its workers, as a crash of all of them) and times the first 200. */
async function killProxyAndTime() {
  const pids = proxyKind === 'nginx' ? [pidIn('nginx/nginx.pid')] : [pidIn('run/proxy.pid')];
  if (proxyKind === 'nginx') pids.push(...childrenOf(pids[0]));
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  const t0 = performance.now();
  // Wait for the port to refuse first: a 200 from the dying process's last moment does not count.
  while ((await get()) === 200 && performance.now() - t0 < 5_000) await sleep(2);
  while (performance.now() - t0 < 30_000) {
    if ((await get()) === 200) return Math.round(performance.now() - t0);
    await sleep(5);
  }
  throw new Error('the proxy did not come back within 30 s');
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, medianMs: s[Math.floor(s.length / 2)], maxMs: s.at(-1), minMs: s[0], all: xs };
};

let result;
try {
  sy(['init', '--skip-tests']);
  const iso = [];
  for (let i = 0; i < isolated; i++) {
    if (i > 0) await sleep(STABLE_MS + 1_000);
    iso.push(await killAndTime());
    console.log(`isolated kill ${i + 1}/${isolated}: good again after ${iso.at(-1)} ms`);
  }
  await sleep(STABLE_MS + 1_000);
  const fast = [];
  for (let i = 0; i < rapid; i++) {
    fast.push(await killAndTime());
    console.log(`rapid kill ${i + 1}/${rapid}: good again after ${fast.at(-1)} ms`);
    await sleep(1_000);
  }
  const proxy = [];
  for (let i = 0; i < proxyKills; i++) {
    proxy.push(await killProxyAndTime());
    console.log(`proxy kill ${i + 1}/${proxyKills}: good again after ${proxy.at(-1)} ms`);
    await sleep(1_000);
  }
  const supervisor = pidIn('run/supervisor.pid');
  result = {
    when: new Date().toISOString(),
    proxy: proxyKind,
    isolated: stats(iso),
    rapid: stats(fast),
    ...(proxy.length ? { proxyKill: stats(proxy) } : {}),
    supervisorRssKb: rssKb(supervisor),
  };
} finally {
  spawnSync(process.execPath, [cli, 'down'], { cwd: dir, env, timeout: 60_000 });
  fs.rmSync(dir, { recursive: true, force: true });
}
const out = path.join(root, 'bench', 'out', `restart${proxyKind === 'nginx' ? '-nginx' : ''}.json`);
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(
  JSON.stringify({
    isolated: result.isolated,
    rapid: result.rapid,
    proxy: result.proxyKill,
    rssKb: result.supervisorRssKb,
  }),
);
if (args.includes('--merge')) mergeIntoResults(proxyKind === 'nginx' ? 'restartNginx' : 'restart', result, loadBefore);
