#!/usr/bin/env node
// Proxy overhead: wrk (2 threads, 50 keep-alive connections; microsecond latency percentiles)
// against a trivial Node backend directly, through the built-in proxy in one process, and through
// the real proxy daemon with proxy.workers: N (default 2), in alternating rounds (default 3).
// Backend and proxies run as child processes, as in production.
// Usage: npm run build && node bench/proxy-throughput.mjs [--duration 8] [--rounds 3] [--workers 2]
//          [--connections 50] [--cpu-prof] [--merge]
// PROXY_NODE_FLAGS adds node flags to both children (e.g. --max-semi-space-size=16).
//    or (no build): node --import tsx bench/proxy-throughput.mjs --src
// Writes bench/out/proxy-throughput.json. Talks to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveBackend, serveBuiltinProxy, startDaemon } from './lib/children.mjs';
import { freePort } from './lib/net.mjs';
import { args, opt, root } from './lib/options.mjs';
import { runWrk } from './lib/wrk.mjs';

const role = opt('role', 'main');

if (role === 'backend') {
  serveBackend();
} else if (role === 'proxy') {
  await serveBuiltinProxy({ root, backendPort: Number(opt('backend-port')), src: args.includes('--src') });
} else {
  const duration = Number(opt('duration', '8'));
  const rounds = Number(opt('rounds', '3'));
  const workers = Number(opt('workers', '2'));
  const loadBefore = (await import('node:os')).loadavg()[0];
  const connections = Number(opt('connections', '50'));
  const useSrc = args.includes('--src') || !existsSync(path.join(root, 'dist/proxy/builtin/server.js'));
  const self = fileURLToPath(import.meta.url);
  const execArgv = [
    ...(useSrc ? ['--import', 'tsx'] : []),
    ...(process.env.PROXY_NODE_FLAGS ? process.env.PROXY_NODE_FLAGS.split(' ') : []),
  ];
  const child = (extra) =>
    new Promise((resolve, reject) => {
      const c = spawn(
        process.execPath,
        [
          ...execArgv,
          ...(extra.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', path.join(root, 'bench', 'out')] : []),
          self,
          ...extra.filter((a) => a !== '--cpu-prof'),
        ],
        {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      const t = setTimeout(() => reject(new Error(`${extra[1]} did not start in 15 s`)), 15_000);
      c.once('message', (m) => {
        clearTimeout(t);
        resolve({ child: c, port: m.port });
      });
      c.once('exit', (code) => reject(new Error(`${extra[1]} exited with ${code}`)));
    });
  const run = (port, seconds = duration) =>
    runWrk({ url: `http://127.0.0.1:${port}/api/health`, connections, seconds });

  const backend = await child(['--role', 'backend']);
  const proxyArgs = [
    '--role',
    'proxy',
    '--backend-port',
    String(backend.port),
    ...(useSrc ? ['--src'] : []),
    ...(args.includes('--cpu-prof') ? ['--cpu-prof'] : []),
  ];
  const proxy = await child(proxyArgs);
  // The same proxy as the real daemon runs it with proxy.workers: N (from dist/ only).
  const daemon = useSrc
    ? undefined
    : await startDaemon({ root, backendPort: backend.port, port: await freePort(), workers });
  try {
    const paths = { direct: backend.port, proxied: proxy.port, ...(daemon ? { workers: daemon.port } : {}) };
    const samples = Object.fromEntries(Object.keys(paths).map((k) => [k, []]));
    // Warm every path (JIT, pools) before measuring.
    for (const port of Object.values(paths)) await run(port, 2);
    // Alternating rounds (forwards, then backwards) so a burst of other work on this VM does not
    // land on one path only; each path reports its median run, the ratios are the medians of each
    // round's own ratios, and every run is kept.
    for (let round = 0; round < rounds; round++) {
      const order = Object.entries(paths);
      if (round % 2) order.reverse();
      for (const [name, port] of order) {
        const m = await run(port);
        samples[name].push(m);
        console.error(
          `${name.padEnd(8)} ${String(m.reqPerSec).padStart(7)} req/s  p50 ${m.p50ms} ms  p99 ${m.p99ms} ms`,
        );
      }
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const medianRun = (xs) => [...xs].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(xs.length / 2)];
    const ratiosOf = (name) => {
      const t = samples[name].map((m, i) => m.reqPerSec / samples.direct[i].reqPerSec);
      const p99 = samples[name].map((m, i) => m.p99ms / samples.direct[i].p99ms);
      const p50 = samples[name].map((m, i) => m.p50ms / samples.direct[i].p50ms);
      const mean = samples[name].map((m, i) => m.meanMs / samples.direct[i].meanMs);
      return {
        throughputRatio: Number(median(t).toFixed(3)),
        p99Ratio: Number(median(p99).toFixed(2)),
        p50Ratio: Number(median(p50).toFixed(2)),
        meanLatencyRatio: Number(median(mean).toFixed(2)),
        range: {
          throughput: [Math.min(...t), Math.max(...t)].map((x) => Number(x.toFixed(3))),
          p99: [Math.min(...p99), Math.max(...p99)].map((x) => Number(x.toFixed(2))),
        },
      };
    };
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      connections,
      durationS: duration,
      rounds,
      proxyFrom: useSrc ? 'src (tsx)' : 'dist',
      tool: `wrk -t2 -c${connections} -d${duration}s`,
      direct: medianRun(samples.direct),
      proxied: medianRun(samples.proxied),
      ...ratiosOf('proxied'),
      ...(daemon ? { workers: { count: workers, ...medianRun(samples.workers), ...ratiosOf('workers') } } : {}),
      runs: Object.fromEntries(
        Object.entries(samples).map(([k, xs]) => [
          k,
          xs.map((m) => ({ reqPerSec: m.reqPerSec, p50ms: m.p50ms, p99ms: m.p99ms })),
        ]),
      ),
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
    writeFileSync(path.join(root, 'bench', 'out', 'proxy-throughput.json'), JSON.stringify(result, null, 2) + '\n');
    // --merge: a re-run of this benchmark alone also replaces its figures in bench/results.json.
    if (args.includes('--merge'))
      (await import('./lib/results.mjs')).mergeIntoResults('proxyThroughput', result, loadBefore);
  } finally {
    proxy.child.disconnect();
    backend.child.disconnect();
    await daemon?.stop();
  }
}
