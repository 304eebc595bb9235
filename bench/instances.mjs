#!/usr/bin/env node
// Throughput of one vs two instances of a service (`services.<name>.instances`) behind each proxy,
// in ONE run on the same machine: the test fixture app deployed by the real CLI (`init`, process
// runtime) with `instances: 1` and `instances: 2` for its api, behind the built-in proxy and behind
// nginx (host mode); wrk (2 threads, 50 keep-alive connections) on GET /api/health through the
// public port. Each of the four setups gets a 2 s warm-up, then --rounds N measured runs (median
// reported, all kept under "samples"), every run bounded by --duration.
// Usage: npm run build && node bench/instances.mjs [--duration 8] [--connections 50] [--rounds 3] [--merge]
// Writes bench/out/instances.json. Talks to 127.0.0.1 only.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './lib/net.mjs';
import { args, opt, root } from './lib/options.mjs';
import { mergeIntoResults } from './lib/results.mjs';
import { runWrk } from './lib/wrk.mjs';

const loadBefore = os.loadavg()[0];
const duration = Number(opt('duration', '8'));
const connections = Number(opt('connections', '50'));
const rounds = Number(opt('rounds', '3'));
const cli = path.join(root, 'dist', 'switchyard.mjs');
if (!fs.existsSync(cli)) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}

/** A temp copy of the fixture with `proxy` in front and `instances` api processes per colour. */
async function project(proxy, instances) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sy-bench-instances-${proxy}-${instances}-`));
  fs.cpSync(path.join(root, 'test', 'fixtures', 'app'), dir, { recursive: true });
  const yml = path.join(dir, 'switchyard.yml');
  const text = fs
    .readFileSync(yml, 'utf8')
    .replace('kind: builtin', `kind: ${proxy}`)
    .replace(/^ {2}api:\n {4}cwd: \.\n/m, (m) => `${m}    instances: ${instances}\n`);
  if (!text.includes(`instances: ${instances}`)) throw new Error('fixture switchyard.yml: no api service to edit');
  fs.writeFileSync(yml, text);
  const port = await freePort();
  const env = { ...process.env, SWITCHYARD_PORT: String(port) };
  const sy = (a) => {
    const r = spawnSync(process.execPath, [cli, ...a], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`switchyard ${a.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  };
  return {
    proxy,
    instances,
    url: `http://127.0.0.1:${port}/api/health`,
    up: () => sy(['init', '--skip-tests']),
    down: () => {
      spawnSync(process.execPath, [cli, 'down'], { cwd: dir, env, timeout: 60_000 });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const setups = [];
let result;
try {
  for (const proxy of ['builtin', 'nginx']) {
    for (const n of [1, 2]) {
      const s = await project(proxy, n);
      setups.push(s);
      s.up();
      await runWrk({ url: s.url, connections, seconds: 2 });
    }
  }
  const samples = Object.fromEntries(setups.map((s) => [`${s.proxy}-${s.instances}`, []]));
  // Alternating rounds: a slow moment of the machine lands on every setup, not on one.
  for (let r = 0; r < rounds; r++) {
    for (const s of setups) {
      const w = await runWrk({ url: s.url, connections, seconds: duration });
      if (w.errors > 0) throw new Error(`${s.proxy} with ${s.instances} instance(s): ${w.errors} errors`);
      samples[`${s.proxy}-${s.instances}`].push(w);
      console.log(
        `round ${r + 1}/${rounds} ${s.proxy}, ${s.instances} instance(s): ${w.reqPerSec} req/s, p99 ${w.p99ms} ms`,
      );
    }
  }
  const summary = (k) => ({
    reqPerSec: median(samples[k].map((w) => w.reqPerSec)),
    p50ms: median(samples[k].map((w) => w.p50ms)),
    p99ms: median(samples[k].map((w) => w.p99ms)),
  });
  result = {
    when: new Date().toISOString(),
    tool: samples['builtin-1'][0].tool,
    rounds,
    builtin: { one: summary('builtin-1'), two: summary('builtin-2') },
    nginx: { one: summary('nginx-1'), two: summary('nginx-2') },
    samples,
  };
} finally {
  for (const s of setups) s.down();
}
const out = path.join(root, 'bench', 'out', 'instances.json');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify({ builtin: result.builtin, nginx: result.nginx }));
if (args.includes('--merge')) mergeIntoResults('instances', result, loadBefore);
