#!/usr/bin/env node
// Colour switches through a real nginx (loopback only), two ways:
//  - flag: switchyard's nginx driver (per-request colour from a flag file, no reload);
//  - reload: the approach it replaced (rewrite an included upstream + `nginx -s reload`).
// For each: switch latency (calling the switch -> first response from the new colour, a client
// polling back-to-back) and requests failed during 10 switches under a bounded keep-alive load.
// Usage: npm run build && node bench/nginx-switch.mjs [--switches 10]. Writes bench/out/nginx-switch.json.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { startNginxDriver } from './lib/nginx.mjs';
import { freePort } from './lib/net.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
const { startLoad } = await dist('load/load.js');
const { nginxVersion } = await dist('proxy/nginx/process.js');
const arg = (n, d) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);
const SWITCHES = Number(arg('switches', '10'));
const LOAD = { connections: 16, maxRequests: 20_000, maxMs: 60_000 };

const listen = (server, port = 0) =>
  new Promise((r) => server.listen(port, '127.0.0.1', () => r(server.address().port)));
const backend = async (colour) => {
  const s = http.createServer((_q, res) => res.end(JSON.stringify({ colour })));
  return { server: s, port: await listen(s) };
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const round = (x) => Math.round(x * 10) / 10;

/** Polls back-to-back on its own keep-alive connection until a response comes from `colour`. */
async function firstFrom(pool, colour, t0, timeoutMs = 5_000) {
  while (performance.now() - t0 < timeoutMs) {
    const r = await pool.request({ method: 'GET', path: '/probe' }).catch(() => undefined);
    if (!r) continue;
    await r.body.dump();
    if (r.headers['x-switchyard-env'] === colour) return performance.now() - t0;
  }
  throw new Error(`no response from ${colour} within ${timeoutMs} ms`);
}

async function measure(port, switchTo) {
  const load = startLoad({ origin: `http://127.0.0.1:${port}`, path: '/load', ...LOAD });
  const probe = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  const latency = [];
  const call = [];
  let colour = 'blue';
  await new Promise((r) => setTimeout(r, 200));
  for (let i = 0; i < SWITCHES; i++) {
    colour = colour === 'blue' ? 'green' : 'blue';
    const t0 = performance.now();
    const seen = firstFrom(probe, colour, t0);
    await switchTo(colour);
    call.push(performance.now() - t0);
    latency.push(await seen);
    await new Promise((r) => setTimeout(r, 150));
  }
  const totals = await load.stop();
  await probe.close();
  return {
    switchLatencyMs: { p50: round(pct(latency, 50)), max: round(Math.max(...latency)) },
    switchCallMs: { p50: round(pct(call, 50)), max: round(Math.max(...call)) },
    requests: totals.sent,
    failed: totals.failed,
    errors: totals.errors,
    requestsPerSecond: Math.round(totals.sent / (totals.ms / 1000)),
  };
}

const nginx = (dir, conf, args) =>
  new Promise((resolve, reject) =>
    execFile('nginx', ['-e', 'stderr', '-p', `${dir}/`, '-c', conf, ...args], { timeout: 10_000 }, (e, _o, err) =>
      e ? reject(new Error(`${e.message}: ${err}`)) : resolve(),
    ),
  );

async function reloadMethod(ports) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-reload-'));
  const port = await freePort();
  const include = path.join(dir, 'upstream.conf');
  const conf = path.join(dir, 'nginx.conf');
  const upstream = (c) =>
    `upstream app { server 127.0.0.1:${ports[c]}; keepalive 64; }\nmap $host $sy_colour { default ${c}; }\n`;
  fs.writeFileSync(include, upstream('blue'));
  fs.writeFileSync(
    conf,
    [
      ...(process.geteuid?.() === 0 ? ['user root;'] : []),
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'worker_processes auto;',
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; ` +
        `uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;`,
      `  include ${include};`,
      '  proxy_http_version 1.1;',
      '  proxy_set_header Connection "";',
      `  server { listen 127.0.0.1:${port}; add_header X-Switchyard-Env $sy_colour always; ` +
        `location / { proxy_pass http://app; } }`,
      '}',
      '',
    ].join('\n'),
  );
  await nginx(dir, conf, []);
  try {
    return await measure(port, async (c) => {
      fs.writeFileSync(include, upstream(c));
      await nginx(dir, conf, ['-s', 'reload']);
    });
  } finally {
    await nginx(dir, conf, ['-s', 'stop']).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function flagMethod(ports) {
  const n = await startNginxDriver(ports, 'sy-bench-flag-');
  try {
    return await measure(n.port, (c) => n.control.switchTo(c));
  } finally {
    await n.stop();
  }
}

const blue = await backend('blue');
const green = await backend('green');
const ports = { blue: blue.port, green: green.port };
const result = {
  nginx: await nginxVersion('nginx'),
  switches: SWITCHES,
  connections: LOAD.connections,
  // Reload first: the flag method then runs on an equally warmed-up machine, not a cold one.
  reload: await reloadMethod(ports),
  flag: await flagMethod(ports),
};
blue.server.close();
green.server.close();
fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench', 'out', 'nginx-switch.json'), JSON.stringify(result, null, 2) + '\n');
console.log(JSON.stringify(result, null, 2));
