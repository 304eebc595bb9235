#!/usr/bin/env node
// What open streams cost a deploy (issue 15): the wall time of `switchyard deploy --auto-switch --json`
// (spawn to exit) of the test fixture app (runtime process, built-in proxy or nginx, the product's default
// deploy.drainTimeout of 30 s and deploy.streamGrace of 2 s) with 0, 1 and 50 SSE clients open
// (`GET /api/events` through the proxy). Each client behaves like a browser's EventSource: when its
// stream ends, it connects again after the server's `retry:` (300 ms), so before each deploy every
// client is on the live colour, and a deploy moves them all. Per deploy: the wall time, the last
// step (drain and stop of the old colour, with the drain's own line), and how long after the switch
// step ended the last client had an event from the new colour.
//   --label before|after: which product the CLI is. `before` is a build from before
//     deploy.streamGrace (streams hold the drain for the whole drainTimeout): build that commit in a
//     copy and pass its CLI with --cli. Each run replaces only its own label's figures: the other one
//     is kept, from bench/out/deploy-streams.json or else from bench/results.json's deployStreams.
//   --proxy builtin|nginx: nginx (host mode) leaves streams to the old colour's stop at streamGrace,
//     and its drain also waits for its idle pooled connections (upstreamKeepaliveTimeout, 4 s).
// Usage: npm run build && node bench/deploy-streams.mjs [--rounds 3] [--clients 0,1,50] [--label after]
//        [--proxy builtin] [--cli dist/switchyard.mjs] [--product <what the CLI was built from>]
//        [--merge]
// Writes bench/out/deploy-streams.json (nginx: deploy-streams-nginx.json).
// Talks to 127.0.0.1 only; every wait is bounded.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './lib/net.mjs';
import { args, opt, root } from './lib/options.mjs';
import { mergeIntoResults } from './lib/results.mjs';

const loadBefore = os.loadavg()[0];
const rounds = Number(opt('rounds', '3'));
const counts = opt('clients', '0,1,50').split(',').map(Number);
const label = opt('label', 'after');
if (!['before', 'after'].includes(label)) throw new Error(`--label must be before or after, got ${label}`);
const proxy = opt('proxy', 'builtin');
if (!['builtin', 'nginx'].includes(proxy)) throw new Error(`--proxy must be builtin or nginx, got ${proxy}`);
const key = proxy === 'nginx' ? 'deployStreamsNginx' : 'deployStreams';
if (!(rounds >= 1) || counts.some((n) => !(n >= 0 && n <= 200))) throw new Error('--rounds >= 1, --clients 0..200');
const cli = path.resolve(opt('cli', path.join(root, 'dist', 'switchyard.mjs')));
if (!fs.existsSync(cli)) {
  console.error(`${cli} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const gitHead = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
};
const product = opt('product', gitHead());
const DEPLOY_TIMEOUT_MS = 120_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
};
const stats = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), samples: xs });

/**
 * A minimal EventSource for the fixture's stream (`retry:` and one-line `data:` JSON events, LF line
 * ends): reconnects after `retry` when a stream ends or fails. `moves` lists when its events changed
 * colour; `colour` is that of the last event.
 */
function sseClient(url) {
  const c = { colour: undefined, moves: [], retry: 300, closed: false, req: undefined, timer: undefined };
  const connect = () => {
    if (c.closed) return;
    let buf = '';
    let again = false;
    const retry = () => {
      if (again || c.closed) return;
      again = true;
      c.timer = setTimeout(connect, c.retry);
    };
    c.req = http.get(url, { agent: false, headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return retry();
      }
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        const lines = buf.split('\n');
        buf = lines.pop();
        for (const line of lines) {
          if (line.startsWith('retry:')) c.retry = Number(line.slice(6)) || c.retry;
          if (!line.startsWith('data:')) continue;
          const colour = JSON.parse(line.slice(5)).colour;
          if (colour !== c.colour) c.moves.push({ at: Date.now(), colour });
          c.colour = colour;
        }
      });
      res.on('end', retry);
      res.on('error', retry);
      res.on('close', retry);
    });
    c.req.on('error', retry);
  };
  connect();
  c.close = () => {
    c.closed = true;
    clearTimeout(c.timer);
    c.req?.destroy();
  };
  return c;
}

/** Waits until every client's last event came from `colour`; bounded. */
async function allOn(clients, colour, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (clients.some((c) => c.colour !== colour)) {
    if (Date.now() > until)
      throw new Error(`${clients.filter((c) => c.colour !== colour).length} SSE client(s) not on ${colour}`);
    await sleep(20);
  }
}

/** Runs the CLI with --json; resolves with the wall time and the events, rejects on exit != 0. */
function runJson(cwd, env, cliArgs) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, '--json', ...cliArgs], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), DEPLOY_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const wallMs = Math.round(performance.now() - t0);
      if (code !== 0)
        return reject(new Error(`switchyard ${cliArgs.join(' ')} exited ${code ?? signal}:\n${out}${err}`));
      const events = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      resolve({ wallMs, events });
    });
  });
}

const port = await freePort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-streams-'));
fs.cpSync(path.join(root, 'test', 'fixtures', 'app'), dir, { recursive: true });
const yml = path.join(dir, 'switchyard.yml');
// The product's defaults: drainTimeout 30 s, streamGrace 2 s (the `before` build has no streamGrace).
const text = fs.readFileSync(yml, 'utf8');
if (!/^ {2}drainTimeout: 2s\n/m.test(text)) throw new Error('fixture switchyard.yml: no "  drainTimeout: 2s" line');
const proxied = proxy === 'nginx' ? text.replace(/^ {2}kind: builtin$/m, '  kind: nginx') : text;
if (proxy === 'nginx' && proxied === text) throw new Error('fixture switchyard.yml: no "  kind: builtin" line');
fs.writeFileSync(yml, proxied.replace(/^ {2}drainTimeout: 2s\n/m, ''));
const env = { ...process.env, SWITCHYARD_PORT: String(port), FORCE_COLOR: '0' };
const url = `http://127.0.0.1:${port}/api/events`;
let version = 1;
let live = 'blue';
const clients = [];
let result;
try {
  const init = spawnSync(process.execPath, [cli, 'init', '--skip-tests'], { cwd: dir, env, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`init exited ${init.status}:\n${init.stdout}${init.stderr}`);
  const byClients = {};
  for (const n of counts) {
    while (clients.length < n) clients.push(sseClient(url));
    while (clients.length > n) clients.pop().close();
    const samples = { wallMs: [], lastStepMs: [], streamsMovedMs: [], drain: [] };
    for (let i = 0; i < rounds; i++) {
      await allOn(clients, live, 10_000);
      await sleep(500); // every stream well established
      fs.writeFileSync(path.join(dir, 'behaviour.json'), JSON.stringify({ version: `v${++version}`, mode: 'ok' }));
      const { wallMs, events } = await runJson(dir, env, ['deploy', '--auto-switch']);
      const to = live === 'blue' ? 'green' : 'blue';
      const done = events.filter((e) => e.event === 'step' && e.status !== 'start');
      const switched = done.find((e) => e.title === `Switching traffic to ${to}`);
      const last = done.at(-1);
      if (!switched || !/^Stopping /.test(last?.title ?? ''))
        throw new Error(`unexpected steps: ${JSON.stringify(done)}`);
      await allOn(clients, to, 60_000);
      const switchedAt = Date.parse(switched.time);
      const moved = clients.map((c) => c.moves.findLast((m) => m.colour === to).at - switchedAt);
      samples.wallMs.push(wallMs);
      samples.lastStepMs.push(last.ms);
      if (n > 0) samples.streamsMovedMs.push(Math.max(...moved));
      samples.drain.push(last.detail ?? '');
      live = to;
      console.log(
        `${label}, ${n} SSE client(s), deploy ${i + 1}/${rounds}: ${wallMs} ms, last step ${last.ms} ms` +
          (n > 0 ? `, all streams on ${to} ${Math.max(...moved)} ms after the switch` : '') +
          ` (${last.detail ?? ''})`,
      );
    }
    byClients[n] = {
      wallMs: stats(samples.wallMs),
      lastStepMs: stats(samples.lastStepMs),
      ...(n > 0 ? { streamsMovedMs: stats(samples.streamsMovedMs) } : {}),
      drain: samples.drain,
    };
  }
  result = {
    when: new Date().toISOString(),
    product,
    loadAvg1mBefore: Number(loadBefore.toFixed(2)),
    rounds,
    clients: byClients,
  };
} finally {
  for (const c of clients) c.close();
  spawnSync(process.execPath, [cli, 'down'], { cwd: dir, env, timeout: 60_000 });
  fs.rmSync(dir, { recursive: true, force: true });
}

const out = path.join(root, 'bench', 'out', proxy === 'nginx' ? 'deploy-streams-nginx.json' : 'deploy-streams.json');
const resultsFile = path.join(root, 'bench', 'results.json');
const earlier = fs.existsSync(out)
  ? JSON.parse(fs.readFileSync(out, 'utf8'))
  : fs.existsSync(resultsFile)
    ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8'))[key] ?? {})
    : {};
const merged = {
  when: result.when,
  proxy,
  drainTimeoutMs: 30_000,
  streamGraceMs: 2_000,
  ...(earlier.before ? { before: earlier.before } : {}),
  ...(earlier.after ? { after: earlier.after } : {}),
  [label]: result,
};
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(merged, null, 2) + '\n');
console.log(JSON.stringify({ [label]: Object.fromEntries(counts.map((n) => [n, result.clients[n].wallMs.median])) }));
if (args.includes('--merge')) mergeIntoResults(key, merged, loadBefore);
