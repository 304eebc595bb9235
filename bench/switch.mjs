#!/usr/bin/env node
// Switch and rollback figures through the real CLI and the real built-in proxy (loopback only):
//  - switch latency: from spawning `switchyard switch <colour>` to the first response from that
//    colour through the public port (a client polling back-to-back), and the command's wall time;
//  - `rollback --force` wall time while the previous colour still runs (kept by --keep-old), and
//    the time until traffic is back on it;
//  - requests failed during all of that, under a bounded keep-alive load.
// Usage: npm run build && node bench/switch.mjs [--rounds 10] [--proxy builtin|nginx] [--merge].
// Writes bench/out/switch.json (or switch-nginx.json).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'undici';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'switchyard.mjs');
const { startLoad } = await import(pathToFileURL(path.join(root, 'dist', 'load', 'load.js')).href);
const arg = (n, d) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);
const rounds = Number(arg('rounds', '10'));
const loadBefore = os.loadavg()[0];
// --proxy nginx: the same measurements through nginx (proxy.kind: nginx, mode: host).
const proxyKind = arg('proxy', 'builtin');
if (!['builtin', 'nginx'].includes(proxyKind)) throw new Error(`--proxy must be builtin or nginx, got ${proxyKind}`);

const port = await new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-switch-'));
fs.cpSync(path.join(root, 'test', 'fixtures', 'app'), dir, { recursive: true });
if (proxyKind === 'nginx') {
  const yml = path.join(dir, 'switchyard.yml');
  fs.writeFileSync(yml, fs.readFileSync(yml, 'utf8').replace('kind: builtin', 'kind: nginx'));
}
const env = { ...process.env, SWITCHYARD_PORT: String(port) };

function run(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [cli, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`switchyard ${args.join(' ')} exited ${code}:\n${out}`));
      else resolve(performance.now() - t0);
    });
  });
}

async function colourNow() {
  const res = await request(`http://127.0.0.1:${port}/api/echo`, { headersTimeout: 2000 });
  await res.body.dump();
  return res.headers['x-switchyard-env'];
}

/**
 * Spawns a command and measures when the public port first answers from `colour`. The probe pauses
 * PROBE_EVERY_MS between requests: back-to-back probes would keep a core busy (the probe, the
 * proxy and the app) and slow down the very command being timed, on a 2-core machine by 50-80 ms.
 * The first-response time is therefore up to PROBE_EVERY_MS late, never early.
 */
const PROBE_EVERY_MS = 5;
async function timeToColour(args, colour) {
  const t0 = performance.now();
  const done = run(args);
  let firstMs;
  while (firstMs === undefined && performance.now() - t0 < 30_000) {
    if ((await colourNow()) === colour) firstMs = performance.now() - t0;
    else await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
  }
  const wallMs = await done;
  return { firstMs, wallMs };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round1 = (x) => Math.round(x * 10) / 10;

try {
  await run(['init']);
  const load = startLoad({
    origin: `http://127.0.0.1:${port}`,
    path: '/api/echo',
    connections: 8,
    maxRequests: 2_000_000,
    maxMs: 600_000,
  });
  await run(['deploy', '--auto-switch', '--keep-old']); // green live, blue warm

  const switches = [];
  let target = 'blue';
  for (let i = 0; i < rounds; i++) {
    switches.push(await timeToColour(['switch', target], target));
    target = target === 'blue' ? 'green' : 'blue';
  }

  const rollbacks = [];
  for (let i = 0; i < Math.max(3, Math.floor(rounds / 2)); i++) {
    // A fresh deploy with --keep-old leaves the previous colour warm; roll back to it.
    await run(['deploy', '--auto-switch', '--keep-old']);
    const previous = (await colourNow()) === 'blue' ? 'green' : 'blue';
    rollbacks.push(await timeToColour(['rollback', '--force'], previous));
  }
  const totals = await load.stop();

  // The same rollback with the machine otherwise idle: what an operator sees at 3 a.m.
  const quietRollbacks = [];
  for (let i = 0; i < 3; i++) {
    await run(['deploy', '--auto-switch', '--keep-old']);
    const previous = (await colourNow()) === 'blue' ? 'green' : 'blue';
    quietRollbacks.push(await timeToColour(['rollback', '--force'], previous));
  }

  const result = {
    when: new Date().toISOString(),
    node: process.version,
    proxy: proxyKind,
    rounds,
    switch: {
      firstResponseMs: {
        p50: round1(
          pct(
            switches.map((s) => s.firstMs),
            50,
          ),
        ),
        max: round1(Math.max(...switches.map((s) => s.firstMs))),
      },
      commandWallMs: {
        p50: round1(
          pct(
            switches.map((s) => s.wallMs),
            50,
          ),
        ),
        max: round1(Math.max(...switches.map((s) => s.wallMs))),
      },
    },
    rollbackForce: {
      trafficBackMs: {
        p50: round1(
          pct(
            rollbacks.map((s) => s.firstMs),
            50,
          ),
        ),
        max: round1(Math.max(...rollbacks.map((s) => s.firstMs))),
      },
      wallMs: {
        p50: round1(
          pct(
            rollbacks.map((s) => s.wallMs),
            50,
          ),
        ),
        max: round1(Math.max(...rollbacks.map((s) => s.wallMs))),
      },
      runs: rollbacks.length,
      withoutLoad: {
        trafficBackMs: {
          p50: round1(
            pct(
              quietRollbacks.map((s) => s.firstMs),
              50,
            ),
          ),
          max: round1(Math.max(...quietRollbacks.map((s) => s.firstMs))),
        },
        wallMs: {
          p50: round1(
            pct(
              quietRollbacks.map((s) => s.wallMs),
              50,
            ),
          ),
          max: round1(Math.max(...quietRollbacks.map((s) => s.wallMs))),
        },
        runs: quietRollbacks.length,
      },
    },
    loadDuringSwitches: { sent: totals.sent, failed: totals.failed, byColour: totals.byColour, errors: totals.errors },
  };
  fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'bench', 'out', proxyKind === 'nginx' ? 'switch-nginx.json' : 'switch.json'),
    JSON.stringify(result, null, 2) + '\n',
  );
  // --merge: a re-run of this benchmark alone also replaces its figures in bench/results.json.
  if (process.argv.includes('--merge'))
    (await import('./lib/results.mjs')).mergeIntoResults(
      proxyKind === 'nginx' ? 'switchingNginx' : 'switching',
      result,
      loadBefore,
    );
  console.log(JSON.stringify(result, null, 2));
} finally {
  await run(['down', '--force-unlock']).catch((e) => console.error(String(e)));
  fs.rmSync(dir, { recursive: true, force: true });
}
