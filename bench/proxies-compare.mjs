#!/usr/bin/env node
// Proxy throughput compared in ONE run on the same machine: wrk (2 threads, 50 keep-alive
// connections, microsecond latency percentiles)
// against a trivial Node backend directly, through the built-in proxy (a child process, started as
// bench/proxy-throughput.mjs does) and through nginx rendered, checked (`nginx -t`) and started by
// switchyard's own nginx driver (dist/proxy/nginx/driver.js, `proxy: { kind: nginx, mode: host }`),
// and, as a reference, through a bare undici forwarder (bench/lib/children.mjs): the built-in
// proxy's design with none of its features, i.e. the most this design can give on this machine.
// Each path gets a 2 s warm-up, then a measured run (--rounds N: N alternating runs each, median
// reported, all kept under "samples"); every run is bounded in time (--duration).
// Usage: npm run build && node bench/proxies-compare.mjs [--duration 8] [--connections 50] [--rounds 1] [--merge]
// Writes bench/out/proxies-compare.json. Talks to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveBackend, serveBareForwarder, serveBuiltinProxy } from './lib/children.mjs';
import { args, opt, root } from './lib/options.mjs';

const role = opt('role', 'main');
if (role === 'backend') {
  serveBackend();
} else if (role === 'builtin') {
  await serveBuiltinProxy({ root, backendPort: Number(opt('backend-port')) });
} else if (role === 'bare') {
  await serveBareForwarder({ root, backendPort: Number(opt('backend-port')) });
} else {
  if (!fs.existsSync(path.join(root, 'dist/proxy/nginx/driver.js'))) {
    console.error('dist/ is missing: run `npm run build` first');
    process.exit(1);
  }
  const dist = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const { runWrk } = await import('./lib/wrk.mjs');
  const { configSchema } = await dist('config/schema.js');
  const { nginxDriver } = await dist('proxy/nginx/driver.js');
  const { nginxVersion } = await dist('proxy/nginx/process.js');
  const { projectPaths } = await dist('state/paths.js');

  const duration = Number(opt('duration', '8'));
  const connections = Number(opt('connections', '50'));
  const rounds = Number(opt('rounds', '1'));
  const self = fileURLToPath(import.meta.url);
  const children = [];
  let driver;
  let tmp;

  // Whatever happens, nothing this benchmark started outlives it.
  const cleanup = async () => {
    for (const c of children) if (c.connected) c.disconnect();
    for (const c of children)
      if (c.exitCode === null && c.signalCode === null) setTimeout(() => c.kill('SIGKILL'), 2000).unref();
    if (driver) await driver.stop().catch((e) => console.error(`stopping nginx: ${e.message}`));
    driver = undefined;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  };
  const watchdog = setTimeout(async () => {
    console.error('proxies-compare: gave up after 5 minutes');
    await cleanup();
    process.exit(1);
  }, 5 * 60_000);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, async () => (await cleanup(), process.exit(130)));

  const child = (extra) =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [self, ...extra], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(c);
      const t = setTimeout(() => reject(new Error(`${extra[1]} did not start in 15 s`)), 15_000);
      c.once('message', (m) => (clearTimeout(t), resolve({ child: c, port: m.port })));
      c.once('exit', (code) => reject(new Error(`${extra[1]} exited with ${code}`)));
    });
  const cannon = (port, seconds) => runWrk({ url: `http://127.0.0.1:${port}/api/health`, connections, seconds });
  const ratios = (x, direct) => ({
    throughput: Number((x.reqPerSec / direct.reqPerSec).toFixed(3)),
    p50: Number((x.p50ms / direct.p50ms).toFixed(2)),
    p99: Number((x.p99ms / direct.p99ms).toFixed(2)),
    mean: Number((x.meanMs / direct.meanMs).toFixed(2)),
  });
  const freePort = () =>
    new Promise((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });

  let code = 0;
  try {
    const backend = await child(['--role', 'backend']);
    const builtin = await child(['--role', 'builtin', '--backend-port', String(backend.port)]);
    const bare = await child(['--role', 'bare', '--backend-port', String(backend.port)]);

    // nginx exactly as `proxy: { kind: nginx, mode: host }` runs it: the driver renders the config,
    // checks it with `nginx -t`, starts the master, and the colour comes from the flag file.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-proxies-'));
    const nginxPort = await freePort();
    const config = configSchema.parse({
      app: 'benchproxies',
      proxy: { kind: 'nginx', listen: { http: nginxPort, host: '127.0.0.1' }, routes: [{ path: '/', service: 'app' }] },
      services: { app: { command: 'true', health: { path: '/' } } },
    });
    driver = nginxDriver(projectPaths(tmp), config);
    const { control } = await driver.ensure();
    await control.setBackends('blue', { app: [{ host: '127.0.0.1', port: backend.port }] });
    await control.switchTo('blue');
    const probe = await fetch(`http://127.0.0.1:${nginxPort}/api/health`);
    if (probe.status !== 200 || probe.headers.get('x-switchyard-env') !== 'blue')
      throw new Error(`nginx answered ${probe.status} from ${probe.headers.get('x-switchyard-env')}`);
    await probe.arrayBuffer();

    const paths = { direct: backend.port, builtin: builtin.port, nginx: nginxPort, bare: bare.port };
    const samples = { direct: [], builtin: [], nginx: [], bare: [] };
    const loadBefore = os.loadavg()[0];
    // warm-up: JIT, pools, upstream keep-alive
    for (const [_name, port] of Object.entries(paths)) await cannon(port, 2);
    // With --rounds > 1 the order alternates (direct, builtin, nginx, then backwards) so a burst of
    // other work on the machine does not land on one path only; each path reports its median run.
    for (let round = 0; round < rounds; round++) {
      const order = Object.entries(paths);
      if (round % 2) order.reverse();
      for (const [name, port] of order) {
        const m = await cannon(port, duration);
        samples[name].push(m);
        console.log(
          `${name.padEnd(8)} ${String(m.reqPerSec).padStart(7)} req/s  p50 ${m.p50ms} ms  ` +
            `p99 ${m.p99ms} ms  errors ${m.errors}`,
        );
      }
    }
    const medianRun = (xs) => [...xs].sort((a, b) => a.reqPerSec - b.reqPerSec)[Math.floor(xs.length / 2)];
    const measured = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, medianRun(xs)]));
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      nginxVersion: await nginxVersion('nginx'),
      nginxWorkers: config.proxy.workerProcesses,
      cpus: os.cpus().length,
      connections,
      durationS: duration,
      tool: `wrk -t2 -c${connections} -d${duration}s`,
      rounds,
      // 1-minute load average when measuring started: other work on the machine skews every figure.
      loadAvg1mBefore: Number(loadBefore.toFixed(2)),
      direct: measured.direct,
      builtin: { ...measured.builtin, vsDirect: ratios(measured.builtin, measured.direct) },
      nginx: { ...measured.nginx, vsDirect: ratios(measured.nginx, measured.direct) },
      nginxVsBuiltin: ratios(measured.nginx, measured.builtin),
      // Reference only: the built-in proxy's design without its features (see the file comment).
      bareForwarder: { ...measured.bare, vsDirect: ratios(measured.bare, measured.direct) },
      builtinVsBare: ratios(measured.builtin, measured.bare),
      ...(rounds > 1
        ? {
            samples: Object.fromEntries(
              Object.entries(samples).map(([k, xs]) => [
                k,
                xs.map((m) => ({ reqPerSec: m.reqPerSec, p50ms: m.p50ms, p99ms: m.p99ms })),
              ]),
            ),
          }
        : {}),
    };
    const failed = Object.values(samples)
      .flat()
      .reduce((n, m) => n + m.errors, 0);
    if (failed) {
      console.error(`${failed} request(s) failed`);
      code = 1;
    }
    console.log(JSON.stringify(result, null, 2));
    fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench', 'out', 'proxies-compare.json'), JSON.stringify(result, null, 2) + '\n');
    // --merge: a re-run of this benchmark alone also replaces its figures in bench/results.json.
    if (args.includes('--merge'))
      (await import('./lib/results.mjs')).mergeIntoResults('proxiesCompare', result, loadBefore);
  } catch (e) {
    console.error(e);
    code = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
  process.exit(code);
}
