#!/usr/bin/env node
// Automatic rollback latency through the real CLI (deploy.rollbackOn: errorRate 2%, minRequests 40):
// a release that answers 500 to 20% of requests is deployed under a steady keep-alive load (8
// connections, /api/items), once as a plain switch (caught by the watch after the switch) and once
// as a 50% canary step. From the load's own samples:
//   errorsToBackMs: the first 500 from the new colour -> the last request the new colour received
//                   (after it, every request goes to the old colour);
//   rollbackMs:     from the watch's verdict to all traffic back (recorded in history);
//   detectMs:       errorsToBackMs - rollbackMs (the watch polls its proxy every 250 ms).
// Usage: npm run build && node bench/rollback-latency.mjs [--rounds 3] [--proxy builtin|nginx] [--merge]
// (--merge: a re-run of this benchmark alone also replaces its figures in bench/results.json)
// Writes bench/out/rollback-latency[-nginx].json. Talks to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './lib/net.mjs';
import { opt, root } from './lib/options.mjs';

const loadBefore = os.loadavg()[0];

const rounds = Number(opt('rounds', '3'));
const proxyKind = opt('proxy', 'builtin');
if (!['builtin', 'nginx'].includes(proxyKind)) throw new Error(`--proxy must be builtin or nginx, got ${proxyKind}`);
const cli = path.join(root, 'dist', 'switchyard.mjs');
const { startLoad } = await import(pathToFileURL(path.join(root, 'dist', 'load', 'load.js')).href);

const port = await freePort();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-rollback-'));
fs.cpSync(path.join(root, 'test', 'fixtures', 'app'), dir, { recursive: true });
const yml = path.join(dir, 'switchyard.yml');
fs.writeFileSync(
  yml,
  fs
    .readFileSync(yml, 'utf8')
    .replace('kind: builtin', `kind: ${proxyKind}`)
    .replace('deploy:\n', 'deploy:\n  watch: 20s\n  stepWait: 20s\n  rollbackOn: { errorRate: 2%, minRequests: 40 }\n'),
);
const env = { ...process.env, SWITCHYARD_PORT: String(port) };
const behave = (b) => fs.writeFileSync(path.join(dir, 'behaviour.json'), JSON.stringify(b));

function run(args, expect = 0) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== expect)
        reject(new Error(`switchyard ${args.join(' ')} exited ${code} (expected ${expect}):\n${out}`));
      else resolve(out);
    });
  });
}

const lastDeploy = () =>
  fs
    .readFileSync(path.join(dir, '.switchyard', 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((h) => h.type === 'deploy')
    .at(-1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function once(args) {
  const live = JSON.parse(fs.readFileSync(path.join(dir, '.switchyard', 'state.json'), 'utf8')).active;
  const target = live === 'blue' ? 'green' : 'blue';
  behave({ version: `bad-${Date.now()}`, mode: 'errors', errorEvery: 5 });
  const load = startLoad({
    origin: `http://127.0.0.1:${port}`,
    path: '/api/items',
    connections: 8,
    maxRequests: 400_000,
    maxMs: 120_000,
  });
  await run(args, 1);
  await new Promise((r) => setTimeout(r, 500));
  const t = await load.stop();
  const transport = t.samples.filter((s) => s.status === 0).length;
  const firstError = t.samples
    .filter((s) => s.colour === target && s.status >= 500)
    .reduce((m, s) => Math.min(m, s.at), Infinity);
  const lastOnTarget = t.samples.filter((s) => s.colour === target).reduce((m, s) => Math.max(m, s.at), -Infinity);
  const h = lastDeploy();
  if (h.watch?.verdict !== 'fail') throw new Error(`not rolled back by the watch: ${JSON.stringify(h)}`);
  const errorsToBackMs = lastOnTarget - firstError;
  return {
    errorsToBackMs,
    rollbackMs: h.watch.rollbackMs,
    detectMs: errorsToBackMs - h.watch.rollbackMs,
    judgedRequests: h.watch.target.requests,
    errorRate: h.watch.target.errorRate,
    transportFailures: transport,
    sent: t.sent,
  };
}

try {
  await run(['init']);
  const out = {
    proxy: proxyKind,
    rounds,
    thresholds: { errorRate: '2%', minRequests: 40 },
    afterSwitch: [],
    canary50: [],
  };
  for (let i = 0; i < rounds; i++) {
    out.afterSwitch.push(await once(['deploy', '--auto-switch']));
    out.canary50.push(await once(['deploy', '--auto-switch', '--canary', '50,100']));
    console.log(
      `round ${i + 1}: after switch ${out.afterSwitch.at(-1).errorsToBackMs} ms, ` +
        `canary 50% ${out.canary50.at(-1).errorsToBackMs} ms`,
    );
  }
  for (const k of ['afterSwitch', 'canary50']) {
    out[`${k}Median`] = Object.fromEntries(
      ['errorsToBackMs', 'detectMs', 'rollbackMs'].map((f) => [f, median(out[k].map((r) => r[f]))]),
    );
  }
  out.transportFailures = [...out.afterSwitch, ...out.canary50].reduce((a, r) => a + r.transportFailures, 0);
  console.log(JSON.stringify(out, null, 2));
  fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bench', 'out', proxyKind === 'nginx' ? 'rollback-latency-nginx.json' : 'rollback-latency.json'),
    JSON.stringify(out, null, 2) + '\n',
  );
  if (process.argv.includes('--merge'))
    (await import('./lib/results.mjs')).mergeIntoResults(
      proxyKind === 'nginx' ? 'rollbackLatencyNginx' : 'rollbackLatency',
      out,
      loadBefore,
    );
} finally {
  await run(['down', '--force-unlock']).catch((e) => console.error(String(e)));
  fs.rmSync(dir, { recursive: true, force: true });
}
