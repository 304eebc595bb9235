#!/usr/bin/env node
// Proxy overhead: wrk (2 threads, 50 keep-alive connections; microsecond latency percentiles)
// against a trivial Node backend directly, then through the built-in proxy. Backend and proxy run as child processes, as in production.
// Usage: npm run build && node bench/proxy-throughput.mjs [--duration 10] [--connections 50] [--cpu-prof] [--merge]
// PROXY_NODE_FLAGS adds node flags to both children (e.g. --max-semi-space-size=16).
//    or (no build): node --import tsx bench/proxy-throughput.mjs --src
// Writes bench/out/proxy-throughput.json. Talks to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveBackend, serveBuiltinProxy } from './lib/children.mjs';
import { args, opt, root } from './lib/options.mjs';
import { runWrk } from './lib/wrk.mjs';

const role = opt('role', 'main');

if (role === 'backend') {
  serveBackend();
} else if (role === 'proxy') {
  await serveBuiltinProxy({ root, backendPort: Number(opt('backend-port')), src: args.includes('--src') });
} else {
  const duration = Number(opt('duration', '10'));
  const loadBefore = (await import('node:os')).loadavg()[0];
  const connections = Number(opt('connections', '50'));
  const useSrc = args.includes('--src') || !existsSync(path.join(root, 'dist/proxy/builtin/server.js'));
  const self = fileURLToPath(import.meta.url);
  const execArgv = [...(useSrc ? ['--import', 'tsx'] : []), ...(process.env.PROXY_NODE_FLAGS ? process.env.PROXY_NODE_FLAGS.split(' ') : [])];
  const child = (extra) =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [...execArgv, ...(extra.includes('--cpu-prof') ? ['--cpu-prof', '--cpu-prof-dir', path.join(root, 'bench', 'out')] : []), self, ...extra.filter((a) => a !== '--cpu-prof')], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const t = setTimeout(() => reject(new Error(`${extra[1]} did not start in 15 s`)), 15_000);
      c.once('message', (m) => {
        clearTimeout(t);
        resolve({ child: c, port: m.port });
      });
      c.once('exit', (code) => reject(new Error(`${extra[1]} exited with ${code}`)));
    });
  const run = (port, seconds = duration) => runWrk({ url: `http://127.0.0.1:${port}/api/health`, connections, seconds });

  const backend = await child(['--role', 'backend']);
  const proxyArgs = ['--role', 'proxy', '--backend-port', String(backend.port), ...(useSrc ? ['--src'] : []), ...(args.includes('--cpu-prof') ? ['--cpu-prof'] : [])];
  const proxy = await child(proxyArgs);
  try {
    // Warm both paths (JIT, pools) before measuring.
    await run(proxy.port, 2);
    const direct = await run(backend.port);
    const proxied = await run(proxy.port);
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      connections,
      durationS: duration,
      proxyFrom: useSrc ? 'src (tsx)' : 'dist',
      tool: direct.tool,
      direct,
      proxied,
      throughputRatio: Number((proxied.reqPerSec / direct.reqPerSec).toFixed(3)),
      p99Ratio: Number((proxied.p99ms / direct.p99ms).toFixed(2)),
      p50Ratio: Number((proxied.p50ms / direct.p50ms).toFixed(2)),
      meanLatencyRatio: Number((proxied.meanMs / direct.meanMs).toFixed(2)),
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
    writeFileSync(path.join(root, 'bench', 'out', 'proxy-throughput.json'), JSON.stringify(result, null, 2) + '\n');
    // --merge: a re-run of this benchmark alone also replaces its figures in bench/results.json.
    if (args.includes('--merge')) (await import('./lib/results.mjs')).mergeIntoResults('proxyThroughput', result, loadBefore);
  } finally {
    proxy.child.disconnect();
    backend.child.disconnect();
  }
}
