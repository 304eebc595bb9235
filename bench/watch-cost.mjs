#!/usr/bin/env node
// What the live watch's counting costs. The built-in proxy counts every request per colour, always
// (the live watch and the dashboard read differences of its counters), so there is no "off" to
// compare with: autocannon (50 keep-alive connections) runs rounds through it, every request of
// which must be counted, and the work counting adds to one request (two clock reads and one
// histogram update, as the forwarder does) is timed alone, over a million requests, and set against
// one request's share of time (on a small shared VM throughput moves by +-15% between rounds, more
// than counting costs, so an A/B could not show it anyway). Backend and proxy are child processes.
// Then alternating rounds through nginx (host mode, switchyard's driver) with its watch off and on:
// there counting is an unbuffered JSON access log line per request, on only while a deploy watches.
// Usage: npm run build && node bench/watch-cost.mjs [--rounds 5] [--duration 5] [--connections 50] [--merge]
// (--merge: a re-run of this benchmark alone also replaces its figures in bench/results.json)
// Writes bench/out/watch-cost.json. Talks to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveBackend } from './lib/children.mjs';
import { opt, root } from './lib/options.mjs';

const role = opt('role', 'main');

if (role === 'backend') {
  serveBackend();
} else if (role === 'proxy') {
  const { ProxyServer } = await import(pathToFileURL(path.join(root, 'dist/proxy/builtin/server.js')).href);
  const proxy = await ProxyServer.start({
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ path: '/', service: 'app' }],
    backends: { blue: { app: { host: '127.0.0.1', port: Number(opt('backend-port')) } } },
    active: 'blue',
  });
  process.on('message', async () => {
    const s = await proxy.stats();
    process.send({ counted: s.colours.blue.requests });
  });
  process.send({ port: proxy.address.port });
  process.on('disconnect', async () => {
    await proxy.close(1000);
    process.exit(0);
  });
} else {
  const loadBefore = (await import('node:os')).loadavg()[0];
  const { default: autocannon } = await import('autocannon');
  const rounds = Number(opt('rounds', '5'));
  const duration = Number(opt('duration', '5'));
  const connections = Number(opt('connections', '50'));
  const self = fileURLToPath(import.meta.url);
  const child = (extra) =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [self, ...extra], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const t = setTimeout(() => reject(new Error(`${extra[1]} did not start in 15 s`)), 15_000);
      c.once('message', (m) => (clearTimeout(t), resolve({ child: c, port: m.port })));
      c.once('exit', (code) => reject(new Error(`${extra[1]} exited with ${code}`)));
    });
  const cannon = (port, secs) =>
    new Promise((resolve, reject) =>
      autocannon({ url: `http://127.0.0.1:${port}/api/items`, connections, duration: secs, pipelining: 1 }, (err, r) =>
        err ? reject(err) : resolve(r),
      ),
    );
  /** The proxy's cumulative count of requests (on blue). */
  const countedNow = (c) =>
    new Promise((resolve) => {
      c.once('message', (m) => resolve(m.counted));
      c.send({});
    });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

  const backend = await child(['--role', 'backend']);
  const proxy = await child(['--role', 'proxy', '--backend-port', String(backend.port)]);
  try {
    await cannon(proxy.port, 2); // warm up (JIT, pools)
    const rps = [];
    const p99 = [];
    let counted = 0;
    let sent = 0;
    for (let i = 0; i < rounds; i++) {
      const before = await countedNow(proxy.child);
      const r = await cannon(proxy.port, duration);
      if (r.errors + r.timeouts + r.non2xx > 0)
        throw new Error(`${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
      rps.push(Math.round(r.requests.average));
      p99.push(r.latency.p99);
      // Every request of the round must be counted (differences of the cumulative counter).
      counted += (await countedNow(proxy.child)) - before;
      sent += r.requests.total;
    }
    // The counting path alone: what the forwarder adds per request while the watch is on.
    const { emptyColourStats, record } = await import(pathToFileURL(path.join(root, 'dist/proxy/stats.js')).href);
    const s = emptyColourStats();
    const N = 1_000_000;
    let sink = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const start = performance.now();
      record(s, i % 50 === 0 ? 500 : 200, performance.now() - start + (i % 7), false);
      sink += s.requests;
    }
    const nsPerRequest = Number((((performance.now() - t0) * 1e6) / N).toFixed(1));
    if (sink === 0) throw new Error('unreachable');
    const always = median(rps);
    const nginx = await nginxRounds(backend.port, { rounds, duration, cannon, median });
    const result = {
      connections,
      durationS: duration,
      rounds,
      /** The built-in proxy always counts: one figure, no off/on. */
      reqPerSec: { always },
      p99ms: { always: median(p99) },
      countingNsPerRequest: nsPerRequest,
      /** The counting path's share of one request's time at that throughput (one core per request stream). */
      countingSharePct: Number(((nsPerRequest / (1e9 / always)) * 100).toFixed(2)),
      rounds_rps: rps,
      countedWhileOn: counted,
      sentWhileOn: sent,
      nginx,
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
    writeFileSync(path.join(root, 'bench', 'out', 'watch-cost.json'), JSON.stringify(result, null, 2) + '\n');
    if (process.argv.includes('--merge'))
      (await import('./lib/results.mjs')).mergeIntoResults('watchCost', result, loadBefore);
  } finally {
    proxy.child.disconnect();
    backend.child.disconnect();
  }
}

/**
 * The same alternating rounds through a real nginx run by switchyard's driver (host mode), where
 * counting is one `-f` test of the flag file per request and, while on, one JSON line written to
 * the access log per request, unbuffered (each line reaches the file when its request ends).
 */
async function nginxRounds(backendPort, { rounds, duration, cannon, median }) {
  const { startNginxDriver } = await import('./lib/nginx.mjs');
  const { port, control, stop } = await startNginxDriver({ blue: backendPort }, 'sy-bench-watch-nginx-');
  try {
    await cannon(port, 2);
    const rps = { off: [], on: [] };
    let counted = 0;
    let sentWhileOn = 0;
    for (let i = 0; i < rounds; i++) {
      for (const mode of ['off', 'on']) {
        await control.setWatch(mode === 'on');
        const r = await cannon(port, duration);
        if (r.errors + r.timeouts + r.non2xx > 0)
          throw new Error(`nginx ${mode}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
        rps[mode].push(Math.round(r.requests.average));
        if (mode === 'on') {
          // Every request of the round is in the log once the round ended: no flush to wait for.
          counted += (await control.stats()).colours.blue.requests;
          sentWhileOn += r.requests.total;
        }
      }
    }
    await control.setWatch(false);
    const off = median(rps.off);
    const on = median(rps.on);
    return {
      reqPerSec: { watchOff: off, watchOn: on },
      costPct: Number((((off - on) / off) * 100).toFixed(1)),
      rounds_rps: rps,
      countedWhileOn: counted,
      sentWhileOn,
    };
  } finally {
    await stop();
  }
}
