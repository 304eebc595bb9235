#!/usr/bin/env node
// What Prometheus metrics (proxy.metrics) cost the built-in proxy: the real daemon
// (dist/switchyard.mjs proxy) twice in the same run, one without proxy.metrics and one with, in front
// of the same trivial backend; wrk (-t2 -c50) through each in alternating rounds (off, on, on, off,
// ...) so drift on the machine hits both alike. The "on" daemon is scraped after each of its rounds:
// its request count must cover what wrk counted (it also counts the request each connection had in
// flight when wrk stopped). On a small shared VM the A/B throughput moves by more between rounds than
// the metrics cost, so the work they add to one request (two clock reads, one count, one histogram
// observation, as the forwarder does) is also timed alone over a million requests, and one scrape too.
// Usage: npm run build && node bench/metrics-cost.mjs [--rounds 3] [--duration 5] [--connections 50]
//          [--workers 1] [--merge] [--calibrate]
// (--calibrate: an A/A run, both daemons without metrics: what two daemons differ by on their own)
// (--merge: a re-run of this benchmark alone also replaces its figures in bench/results.json)
// Writes bench/out/metrics-cost.json. Talks to 127.0.0.1 only.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getMetricsFromStream } from 'prom2javascript';
import { serveBackend, startDaemon } from './lib/children.mjs';
import { freePort } from './lib/net.mjs';
import { childrenOf, cpuMs } from './lib/proc.mjs';
import { args, opt, root } from './lib/options.mjs';
import { runWrk } from './lib/wrk.mjs';

const role = opt('role', 'main');

/** GET url: the body and how long it took (ms). */
function fetchText(url) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(url, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }),
        );
      })
      .on('error', reject);
  });
}

/** The daemon's switchyard_proxy_requests_total, summed over its series (read with a Prometheus text parser). */
async function requestsCounted(metricsPort) {
  const { status, text } = await fetchText(`http://127.0.0.1:${metricsPort}/metrics`);
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  const m = await getMetricsFromStream(Readable.from([text]));
  return (m.switchyard_proxy_requests_total?.data ?? []).reduce((a, d) => a + d.value, 0);
}

if (role === 'backend') {
  serveBackend();
} else {
  const loadBefore = os.loadavg()[0];
  const rounds = Number(opt('rounds', '3'));
  const duration = Number(opt('duration', '5'));
  const connections = Number(opt('connections', '50'));
  const workers = Number(opt('workers', '1'));
  const calibrate = args.includes('--calibrate');
  const self = fileURLToPath(import.meta.url);
  const backend = await new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [self, '--role', 'backend'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const t = setTimeout(() => reject(new Error('the backend did not start in 15 s')), 15_000);
    c.once('message', (m) => (clearTimeout(t), resolve({ child: c, port: m.port })));
    c.once('exit', (code) => reject(new Error(`the backend exited with ${code}`)));
  });
  const metricsPort = await freePort();
  const daemons = {
    off: await startDaemon({ root, backendPort: backend.port, port: await freePort(), workers }),
    on: await startDaemon({
      root,
      backendPort: backend.port,
      port: await freePort(),
      workers,
      ...(calibrate ? {} : { metricsPort }),
    }),
  };
  const run = (port, seconds = duration) => runWrk({ url: `http://127.0.0.1:${port}/api/items`, connections, seconds });
  try {
    for (const d of Object.values(daemons)) await run(d.port, 2); // warm up (JIT, pools)
    const samples = { off: [], on: [] };
    // CPU time of a daemon and its workers: what it spent serving a round, per request. It moves far less
    // with other work on the machine than the throughput does.
    const cpuOf = (d) => [d.pid, ...childrenOf(d.pid)].reduce((a, p) => a + (cpuMs(p) ?? 0), 0);
    const cpuUs = { off: [], on: [] };
    let counted = 0;
    let sentWhileOn = 0;
    for (let i = 0; i < rounds; i++) {
      for (const mode of i % 2 ? ['on', 'off'] : ['off', 'on']) {
        const counting = mode === 'on' && !calibrate;
        const before = counting ? await requestsCounted(metricsPort) : 0;
        const cpu0 = cpuOf(daemons[mode]);
        const r = await run(daemons[mode].port);
        if (r.errors > 0) throw new Error(`${mode}: ${r.errors} errors`);
        samples[mode].push(r);
        cpuUs[mode].push(((cpuOf(daemons[mode]) - cpu0) * 1000) / r.total);
        if (counting) {
          counted += (await requestsCounted(metricsPort)) - before;
          sentWhileOn += r.total;
        }
        console.error(
          `metrics ${mode.padEnd(3)} ${String(r.reqPerSec).padStart(7)} req/s  p99 ${r.p99ms} ms` +
            `  ${cpuUs[mode].at(-1).toFixed(1)} µs CPU per request`,
        );
      }
    }
    const scrapes = [];
    for (let i = 0; i < 20 && !calibrate; i++)
      scrapes.push((await fetchText(`http://127.0.0.1:${metricsPort}/metrics`)).ms);

    // The recording path alone: what the forwarder adds to one request while metrics are on.
    const { TrafficMetrics } = await import(pathToFileURL(path.join(root, 'dist/proxy/builtin/metrics.js')).href);
    const open = () => ({ inFlight: { blue: 0, green: 0 }, websockets: { blue: 0, green: 0 } });
    const rec = new TrafficMetrics(open).live;
    const N = 1_000_000;
    const time = () => {
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        const start = performance.now();
        rec.record('blue', i % 50 === 0 ? 500 : 200, performance.now() - start + (i % 7), false, '/api');
      }
      return ((performance.now() - t0) * 1e6) / N;
    };
    time(); // warm up
    const nsPerRequest = Number(Math.min(time(), time(), time()).toFixed(1));

    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const off = median(samples.off.map((r) => r.reqPerSec));
    const on = median(samples.on.map((r) => r.reqPerSec));
    const result = {
      when: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      tool: `wrk -t2 -c${connections} -d${duration}s`,
      workers,
      connections,
      durationS: duration,
      rounds,
      reqPerSec: { metricsOff: off, metricsOn: on },
      p99ms: { metricsOff: median(samples.off.map((r) => r.p99ms)), metricsOn: median(samples.on.map((r) => r.p99ms)) },
      costPct: Number((((off - on) / off) * 100).toFixed(1)),
      /** The median of each round's own change (its two runs back to back): less moved by drift between rounds. */
      costPctPaired: Number(
        (median(samples.off.map((r, k) => (r.reqPerSec - samples.on[k].reqPerSec) / r.reqPerSec)) * 100).toFixed(1),
      ),
      /** CPU time the daemon spent per request (medians of the rounds), and the change when on. */
      cpuUsPerRequest: {
        metricsOff: Number(median(cpuUs.off).toFixed(1)),
        metricsOn: Number(median(cpuUs.on).toFixed(1)),
      },
      cpuCostPct: Number((((median(cpuUs.on) - median(cpuUs.off)) / median(cpuUs.off)) * 100).toFixed(1)),
      recordingNsPerRequest: nsPerRequest,
      /** The recording path's share of one request's time at the metrics-off throughput (one process serving). */
      recordingSharePct: Number(((nsPerRequest / (1e9 / off)) * 100).toFixed(2)),
      ...(calibrate
        ? { calibrate: 'both daemons without metrics' }
        : { scrapeMs: { median: Number(median(scrapes).toFixed(2)), max: Number(Math.max(...scrapes).toFixed(2)) } }),
      countedWhileOn: counted,
      sentWhileOn,
      rounds_rps: { off: samples.off.map((r) => r.reqPerSec), on: samples.on.map((r) => r.reqPerSec) },
    };
    console.log(JSON.stringify(result, null, 2));
    if (counted < sentWhileOn)
      throw new Error(`the metrics counted ${counted} requests, wrk got ${sentWhileOn} answers`);
    mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
    const out = calibrate ? 'metrics-cost-calibrate.json' : 'metrics-cost.json';
    writeFileSync(path.join(root, 'bench', 'out', out), JSON.stringify(result, null, 2) + '\n');
    if (args.includes('--merge') && !calibrate)
      (await import('./lib/results.mjs')).mergeIntoResults('metricsCost', result, loadBefore);
  } finally {
    await daemons.off.stop();
    await daemons.on.stop();
    backend.child.disconnect();
  }
}
