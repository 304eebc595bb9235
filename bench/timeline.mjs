#!/usr/bin/env node
// A timeline of every request during a real `switchyard deploy --auto-switch` and then a
// `switchyard rollback --force` of the example app (examples/app: process runtime, built-in proxy;
// --proxy nginx: the same app behind nginx in host mode), under a continuous bounded keep-alive
// load (8 connections to /api/health, loopback only). Each request's start time, status and the
// colour that answered (X-Switchyard-Env) go into bars of 100 ms, stacked by colour, failed ones in
// red, with markers for: deploy start, its switch step, rollback start, its switch step (times
// from the CLI's --json step events).
// Usage: npm run build && node bench/timeline.mjs [--proxy builtin|nginx] [--connections 8]
// Writes bench/out/timeline.json and bench/out/timeline.svg (copied to docs/timeline.svg);
// with --proxy nginx: timeline-nginx.json/.svg (docs/timeline-nginx.svg).
import { freePort } from './lib/net.mjs';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { opt, root } from './lib/options.mjs';
import { COLOURS, stackedBarsSvg } from './lib/svg.mjs';

const cli = path.join(root, 'dist', 'switchyard.mjs');
if (!fs.existsSync(cli)) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const { startLoad } = await import(pathToFileURL(path.join(root, 'dist', 'load', 'load.js')).href);
const proxyKind = opt('proxy', 'builtin');
if (!['builtin', 'nginx'].includes(proxyKind)) throw new Error(`--proxy must be builtin or nginx, got ${proxyKind}`);
const CONNECTIONS = Number(opt('connections', '8'));
const BIN_MS = 100;
const QUIET_MS = 1_500; // load alone before the deploy, between the commands and after the rollback
const suffix = proxyKind === 'nginx' ? '-nginx' : '';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-timeline-'));
fs.cpSync(path.join(root, 'examples', 'app'), dir, {
  recursive: true,
  filter: (s) => !/[/\\](data|\.switchyard|\.current-env)$/.test(s),
});
if (proxyKind === 'nginx') {
  const yml = path.join(dir, 'switchyard.yml');
  const text = fs.readFileSync(yml, 'utf8');
  if (!text.includes('kind: builtin')) throw new Error('examples/app/switchyard.yml has no "kind: builtin" to replace');
  fs.writeFileSync(yml, text.replace('kind: builtin', 'kind: nginx'));
}
const port = await freePort();
const env = { ...process.env, SWITCHYARD_PORT: String(port), FORCE_COLOR: '0' };

/** Runs the built CLI; resolves with start/end (epoch ms) and its JSON events; rejects on exit != 0. */
function run(args, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const end = Date.now();
      if (code !== 0) return reject(new Error(`switchyard ${args.join(' ')} exited ${code ?? signal}:\n${out}`));
      const events = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l)];
          } catch {
            return [];
          }
        });
      resolve({ start, end, events });
    });
  });
}

/** When the command's "Switching traffic to <colour>" step started and ended (epoch ms). */
function switchStep(events, colour) {
  const title = `Switching traffic to ${colour}`;
  const s = events.find((e) => e.event === 'step' && e.status === 'start' && e.title === title);
  const ok = events.find((e) => e.event === 'step' && e.status === 'ok' && e.title === title);
  if (!s || !ok) throw new Error(`no "${title}" step in the command's events`);
  return { start: Date.parse(s.time), end: Date.parse(ok.time), detail: ok.detail };
}

const watchdog = setTimeout(() => {
  console.error('timeline: gave up after 5 minutes');
  process.exit(1);
}, 5 * 60_000);

let code = 0;
let load;
try {
  await run(['init']);
  load = startLoad({
    origin: `http://127.0.0.1:${port}`,
    path: '/api/health',
    connections: CONNECTIONS,
    maxRequests: 1_000_000,
    maxMs: 150_000,
  });
  await sleep(QUIET_MS);
  for (const svc of ['api', 'frontend']) fs.writeFileSync(path.join(dir, svc, 'VERSION'), '2.0.0\n');
  const deploy = await run(['--json', 'deploy', '--auto-switch']);
  await sleep(QUIET_MS);
  const rollback = await run(['--json', 'rollback', '--force']);
  await sleep(QUIET_MS);
  const totals = await load.stop();
  load = undefined;

  const t0 = totals.startedAt;
  const rel = (t) => t - t0;
  const toGreen = switchStep(deploy.events, 'green');
  const toBlue = switchStep(rollback.events, 'blue');
  const samples = [...totals.samples].sort((a, b) => a.at - b.at);
  const nBins = Math.ceil((totals.ms + 1) / BIN_MS);
  const bins = Array.from({ length: nBins }, () => ({ blue: 0, green: 0, failed: 0 }));
  for (const s of samples) {
    const b = bins[Math.min(nBins - 1, Math.floor(s.at / BIN_MS))];
    const ok = s.status >= 200 && s.status < 400;
    if (!ok) b.failed++;
    else if (s.colour === 'blue' || s.colour === 'green') b[s.colour]++;
    else b.failed++; // answered without a colour: not through a switchyard backend
  }
  // The longest time between two consecutive request starts: a stall of the proxy would show here.
  let maxPause = { ms: 0, atMs: 0 };
  for (let i = 1; i < samples.length; i++) {
    const d = samples[i].at - samples[i - 1].at;
    if (d > maxPause.ms) maxPause = { ms: d, atMs: samples[i - 1].at };
  }
  const firstFrom = (colour, after) => samples.find((s) => s.at >= after && s.colour === colour)?.at;
  const lastFrom = (colour, before) => samples.filter((s) => s.at <= before && s.colour === colour).at(-1)?.at;
  const inner = bins.slice(1, -1);
  const perBin = inner.map((b) => b.blue + b.green + b.failed);
  const markers = [
    { atMs: rel(deploy.start), label: 'deploy start' },
    { atMs: rel(toGreen.start), label: 'switch → green', colour: COLOURS.green },
    { atMs: rel(rollback.start), label: 'rollback start' },
    { atMs: rel(toBlue.start), label: 'switch → blue', colour: COLOURS.blue },
  ];
  const summary = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    proxy: proxyKind,
    app: 'examples/app (runtime: process)',
    connections: CONNECTIONS,
    binMs: BIN_MS,
    durationMs: totals.ms,
    requests: totals.sent,
    failed: totals.failed,
    errors: totals.errors,
    byColour: totals.byColour,
    requestsPerBin: {
      min: Math.min(...perBin),
      median: [...perBin].sort((a, b) => a - b)[Math.floor(perBin.length / 2)],
      max: Math.max(...perBin),
    },
    emptyBins: inner.filter((b) => b.blue + b.green === 0).length,
    longestPauseBetweenRequestStartsMs: maxPause.ms,
    longestPauseAtMs: maxPause.atMs,
    deploy: {
      startMs: rel(deploy.start),
      endMs: rel(deploy.end),
      wallMs: deploy.end - deploy.start,
      switchStepMs: { start: rel(toGreen.start), end: rel(toGreen.end), detail: toGreen.detail },
      lastBlueBeforeSwitchEndMs: lastFrom('blue', rel(toGreen.end)),
      firstGreenMs: firstFrom('green', rel(deploy.start)),
    },
    rollback: {
      startMs: rel(rollback.start),
      endMs: rel(rollback.end),
      wallMs: rollback.end - rollback.start,
      switchStepMs: { start: rel(toBlue.start), end: rel(toBlue.end), detail: toBlue.detail },
      firstBlueMs: firstFrom('blue', rel(rollback.start)),
    },
    markers,
  };
  const who = proxyKind === 'nginx' ? 'nginx (host mode)' : 'the built-in proxy';
  const svg = stackedBarsSvg({
    title: `Every request during deploy --auto-switch and rollback --force, through ${who}`,
    subtitle:
      `examples/app, ${CONNECTIONS} keep-alive connections to /api/health: ` +
      `${totals.sent.toLocaleString('en-US')} requests, ${totals.failed} failed; ` +
      `longest pause between two request starts ${maxPause.ms} ms`,
    binMs: BIN_MS,
    bins,
    series: [
      { key: 'blue', label: 'answered by blue', colour: COLOURS.blue },
      { key: 'green', label: 'answered by green', colour: COLOURS.green },
      // A failed request is drawn at least 3 px tall so a single one stays visible.
      { key: 'failed', label: `failed (${totals.failed})`, colour: COLOURS.failed, minHeight: 3 },
    ],
    markers,
    spans: [
      {
        fromMs: rel(deploy.start),
        toMs: rel(deploy.end),
        label: `switchyard deploy --auto-switch (${((deploy.end - deploy.start) / 1000).toFixed(1)} s)`,
      },
      {
        fromMs: rel(rollback.start),
        toMs: rel(rollback.end),
        label: `switchyard rollback --force (${((rollback.end - rollback.start) / 1000).toFixed(1)} s)`,
      },
    ],
    yLabel: `requests started per ${BIN_MS} ms`,
  });
  fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'out', `timeline${suffix}.json`), JSON.stringify(summary, null, 2) + '\n');
  fs.writeFileSync(path.join(root, 'bench', 'out', `timeline${suffix}.svg`), svg);
  fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(root, 'docs', `timeline${suffix}.svg`), svg);
  console.log(JSON.stringify({ ...summary, markers: undefined }, null, 2));
  console.log(`wrote bench/out/timeline${suffix}.svg and docs/timeline${suffix}.svg`);
  if (totals.failed > 0) code = 1;
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  if (load) await load.stop().catch(() => {});
  await run(['down', '--force-unlock'], 60_000).catch((e) => console.error(String(e.message)));
  fs.rmSync(dir, { recursive: true, force: true });
  clearTimeout(watchdog);
}
process.exit(code);
