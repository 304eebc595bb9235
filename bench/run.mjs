#!/usr/bin/env node
// Runs every benchmark (each a child process, one after another so they do not compete for the two
// cores) and merges their figures into bench/results.json. `npm run bench` builds first.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const benches = [
  { name: 'proxyThroughput', file: 'proxy-throughput.mjs', out: 'proxy-throughput.json', args: [] },
  { name: 'switching', file: 'switch.mjs', out: 'switch.json', args: ['--rounds', '10'] },
  {
    name: 'switchingNginx',
    file: 'switch.mjs',
    out: 'switch-nginx.json',
    args: ['--rounds', '10', '--proxy', 'nginx'],
  },
  { name: 'nginxSwitching', file: 'nginx-switch.mjs', out: 'nginx-switch.json', args: [] },
  { name: 'proxiesCompare', file: 'proxies-compare.mjs', out: 'proxies-compare.json', args: ['--rounds', '3'] },
  { name: 'soak', file: 'soak.mjs', out: 'soak.json', args: ['--switches', '500'] },
  { name: 'timeline', file: 'timeline.mjs', out: 'timeline.json', args: [] },
  { name: 'timelineNginx', file: 'timeline.mjs', out: 'timeline-nginx.json', args: ['--proxy', 'nginx'] },
  { name: 'deploySplit', file: 'deploy-split.mjs', out: 'deploy-split.json', args: [] },
  { name: 'backup', file: 'backup.mjs', out: 'backup.json', args: [] },
  // Keeps its `before` figures (a build from before deploy.streamGrace) from bench/results.json.
  { name: 'deployStreams', file: 'deploy-streams.mjs', out: 'deploy-streams.json', args: ['--label', 'after'] },
  {
    name: 'deployStreamsNginx',
    file: 'deploy-streams.mjs',
    out: 'deploy-streams-nginx.json',
    args: ['--label', 'after', '--proxy', 'nginx'],
  },
  { name: 'watchCost', file: 'watch-cost.mjs', out: 'watch-cost.json', args: [] },
  { name: 'metricsCost', file: 'metrics-cost.mjs', out: 'metrics-cost.json', args: [] },
  { name: 'rollbackLatency', file: 'rollback-latency.mjs', out: 'rollback-latency.json', args: [] },
  { name: 'restart', file: 'restart.mjs', out: 'restart.json', args: [] },
  { name: 'restartNginx', file: 'restart.mjs', out: 'restart-nginx.json', args: ['--proxy', 'nginx'] },
  { name: 'instances', file: 'instances.mjs', out: 'instances.json', args: [] },
  { name: 'swarm', file: 'swarm.mjs', out: 'swarm.json', args: [] },
  {
    name: 'rollbackLatencyNginx',
    file: 'rollback-latency.mjs',
    out: 'rollback-latency-nginx.json',
    args: ['--proxy', 'nginx'],
  },
];
const os = await import('node:os');
// The 1-minute load average as each benchmark starts: other work on the two cores skews every figure.
const results = {
  when: new Date().toISOString(),
  node: process.version,
  machine: { cpus: os.cpus().length, loadAvg1mBefore: {} },
};
let failed = 0;
for (const b of benches) {
  console.log(`\n== ${b.file}`);
  const out = path.join(here, 'out', b.out);
  fs.rmSync(out, { force: true }); // never merge a figure left by an earlier run
  results.machine.loadAvg1mBefore[b.name] = Number(os.loadavg()[0].toFixed(2));
  const r = spawnSync(process.execPath, [path.join(here, b.file), ...b.args], {
    stdio: 'inherit',
    timeout: 15 * 60_000,
  });
  if (r.status !== 0 || !fs.existsSync(out)) {
    console.error(`${b.file} failed (exit ${r.status})`);
    failed++;
    continue;
  }
  results[b.name] = JSON.parse(fs.readFileSync(out, 'utf8'));
}
fs.writeFileSync(path.join(here, 'results.json'), JSON.stringify(results, null, 2) + '\n');
console.log(`\nwrote bench/results.json${failed ? ` (${failed} benchmark(s) failed)` : ''}`);
process.exit(failed ? 1 : 0);
