#!/usr/bin/env node
// Soak: many colour switches back and forth under a continuous keep-alive load, through each proxy
// (loopback only, real backends as separate node processes):
//  - builtin: the real proxy daemon (`switchyard proxy`, started detached from the CLI bundle as
//    every command starts it). Each switch is what a deploy does to the proxy: point the incoming
//    colour at a backend process (alternating between two per colour, as a new release comes up on
//    a new port), switch to it, drain the outgoing colour (which closes its pooled connections);
//  - nginx: nginx in host mode started by switchyard's driver; each switch is what `switchyard
//    switch` does (set the colour's backends, unchanged so no reload, then flip the flag file).
// Reported per proxy: switches, requests, failed, requests that reached the wrong colour, and the
// daemon's memory (VmRSS from /proc/<pid>/status) and open fds (/proc/<pid>/fd) idle before the
// load, under load after a warm-up (start), under load after the last switch (end), the maximum
// under load, and idle again after the load (backend keep-alive sockets time out after 4 s).
// For nginx the figures are summed over the master and its workers.
// Usage: npm run build && node bench/soak.mjs [--switches 500] [--proxy builtin|nginx|both]
//        [--connections 16] [--every 250 (requests between switches)]; --redraw: only the SVG again
// Writes bench/out/soak.json and bench/out/soak.svg (copied to docs/soak.svg).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveBackend } from './lib/children.mjs';
import { args, opt, root } from './lib/options.mjs';
import { childrenOf, fdKinds, usage } from './lib/proc.mjs';
import { COLOURS, linePanel, svgDocument } from './lib/svg.mjs';

const role = opt('role', 'main');
if (role === 'backend') {
  serveBackend();
} else if (args.includes('--redraw')) {
  // Only the picture again, from the last bench/out/soak.json.
  const result = JSON.parse(fs.readFileSync(path.join(root, 'bench', 'out', 'soak.json'), 'utf8'));
  fs.writeFileSync(path.join(root, 'bench', 'out', 'soak.svg'), chart(result));
  if (result.builtin && result.nginx) fs.writeFileSync(path.join(root, 'docs', 'soak.svg'), chart(result));
} else {
  await main();
}

async function main() {
  if (!fs.existsSync(path.join(root, 'dist', 'switchyard.mjs'))) {
    console.error('dist/ is missing: run `npm run build` first');
    process.exit(1);
  }
  const dist = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
  const { startLoad } = await dist('load/load.js');
  const { configSchema } = await dist('config/schema.js');
  const { ensureProxy, stopProxy } = await dist('proxy/launch.js');
  const { nginxDriver } = await dist('proxy/nginx/driver.js');
  const { nginxVersion } = await dist('proxy/nginx/process.js');
  const { projectPaths } = await dist('state/paths.js');

  const SWITCHES = Number(opt('switches', '500'));
  const CONNECTIONS = Number(opt('connections', '16'));
  const EVERY = Number(opt('every', '250')); // requests between two switches, at least
  const MIN_GAP_MS = 120; // and time between them (so each colour serves a while)
  const SAMPLE_EVERY = Math.max(1, Math.round(SWITCHES / 50)); // switches between /proc samples
  const WARMUP_MS = 2_000;
  const SETTLE_MS = 5_000; // > the daemon's 4 s backend keep-alive: its pooled sockets are gone
  const which = opt('proxy', 'both');
  if (!['builtin', 'nginx', 'both'].includes(which))
    throw new Error(`--proxy must be builtin, nginx or both, got ${which}`);
  const routes = [{ path: '/', service: 'app' }];
  const self = fileURLToPath(import.meta.url);
  const cli = path.join(root, 'dist', 'switchyard.mjs');
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const r2 = (x) => Math.round(x * 100) / 100;
  const mb = (kb) => Math.round(kb / 102.4) / 10;
  const children = [];
  const cleanups = [];

  const watchdog = setTimeout(async () => {
    console.error('soak: gave up after 12 minutes');
    for (const c of cleanups.reverse()) await c().catch(() => {});
    for (const c of children) c.kill('SIGKILL');
    process.exit(1);
  }, 12 * 60_000);

  const backend = () =>
    new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [self, '--role', 'backend'], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(c);
      const t = setTimeout(() => reject(new Error('a backend did not start in 15 s')), 15_000);
      c.once('message', (m) => (clearTimeout(t), resolve({ host: '127.0.0.1', port: m.port })));
      c.once('exit', (code) => reject(new Error(`a backend exited with ${code}`)));
    });
  const freePort = () =>
    new Promise((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });

  /** Requests that started after a switch returned (and 50 ms before the next began) but reached another colour. */
  function misrouted(totals, marks) {
    let wrong = 0;
    let checked = 0;
    let i = 0;
    const samples = [...totals.samples].sort((a, b) => a.at - b.at);
    for (const s of samples) {
      const t = totals.startedAt + s.at;
      while (i + 1 < marks.length && marks[i + 1].end <= t) i++;
      const m = marks[i];
      if (!m || m.end > t || s.status !== 200) continue;
      const next = marks[i + 1];
      if (next && t >= next.start - 50) continue;
      checked++;
      if (s.colour !== m.colour) wrong++;
    }
    return { wrong, checked };
  }

  /**
   * The load, the switches and the /proc samples; `doSwitch(to, from)` moves traffic and returns how
   * long its switchTo call took.
   */
  async function soak(name, port, doSwitch, pids) {
    const sample = (switchNo) => {
      const u = usage(pids());
      return { switch: switchNo, rssMb: mb(u.rssKb), fds: u.fds };
    };
    const idleBefore = sample(0);
    const load = startLoad({
      origin: `http://127.0.0.1:${port}`,
      path: '/soak',
      connections: CONNECTIONS,
      maxRequests: SWITCHES * EVERY * 4 + 500_000,
      maxMs: 8 * 60_000,
    });
    await sleep(WARMUP_MS);
    const series = [sample(0)];
    const marks = [];
    const switchMs = [];
    const switchToMs = [];
    let colour = 'blue';
    let last = { sent: load.sent, at: Date.now() };
    const t0 = Date.now();
    for (let i = 1; i <= SWITCHES; i++) {
      const deadline = Date.now() + 10_000;
      while ((load.sent < last.sent + EVERY || Date.now() - last.at < MIN_GAP_MS) && Date.now() < deadline)
        await sleep(2);
      const to = colour === 'blue' ? 'green' : 'blue';
      const start = Date.now();
      switchToMs.push(await doSwitch(to, colour));
      const end = Date.now();
      marks.push({ start, end, colour: to });
      switchMs.push(end - start);
      colour = to;
      last = { sent: load.sent, at: end };
      if (i % SAMPLE_EVERY === 0 || i === SWITCHES) series.push(sample(i));
      if (i % 100 === 0)
        console.log(
          `${name}: ${i} switches, ${load.sent} requests, rss ${series.at(-1).rssMb} MB, fds ${series.at(-1).fds}`,
        );
    }
    const switchingMs = Date.now() - t0;
    const totals = await load.stop();
    await sleep(SETTLE_MS);
    const idleAfter = sample(SWITCHES);
    const { wrong, checked } = misrouted(totals, marks);
    const underLoad = series;
    const result = {
      switches: SWITCHES,
      switchingS: Math.round(switchingMs / 100) / 10,
      connections: CONNECTIONS,
      requests: totals.sent,
      failed: totals.failed,
      errors: totals.errors,
      byColour: totals.byColour,
      requestsPerSecond: Math.round(totals.sent / (totals.ms / 1000)),
      misrouted: wrong,
      checkedColour: checked,
      // The whole cycle (for builtin with the drain), and the switchTo call alone: when it returns,
      // every new request goes to the new colour (checked: misrouted).
      switchCycleMs: { p50: pct(switchMs, 50), p99: pct(switchMs, 99), max: Math.max(...switchMs) },
      switchToMs: { p50: r2(pct(switchToMs, 50)), p99: r2(pct(switchToMs, 99)), max: r2(Math.max(...switchToMs)) },
      rssMb: {
        idleBefore: idleBefore.rssMb,
        start: underLoad[0].rssMb,
        end: underLoad.at(-1).rssMb,
        max: Math.max(...underLoad.map((s) => s.rssMb)),
        idleAfter: idleAfter.rssMb,
      },
      fds: {
        idleBefore: idleBefore.fds,
        start: underLoad[0].fds,
        end: underLoad.at(-1).fds,
        max: Math.max(...underLoad.map((s) => s.fds)),
        idleAfter: idleAfter.fds,
      },
      series: underLoad,
    };
    console.log(
      `${name}: ${result.switches} switches in ${result.switchingS} s, ${result.requests} requests, ` +
        `${result.failed} failed, ${wrong} misrouted of ${checked}; ` +
        `rss MB ${JSON.stringify(result.rssMb)}; fds ${JSON.stringify(result.fds)}`,
    );
    return result;
  }

  async function builtin() {
    const blue = [await backend(), await backend()];
    const green = [await backend(), await backend()];
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-soak-'));
    const paths = projectPaths(tmp);
    const port = await freePort();
    cleanups.push(async () => (await stopProxy(paths), fs.rmSync(tmp, { recursive: true, force: true })));
    // The daemon exactly as every command starts it: the CLI bundle, detached, output in proxy.log.
    const { control, status } = await ensureProxy(
      paths,
      { listen: { host: '127.0.0.1', port }, routes },
      { command: { file: process.execPath, args: [cli, 'proxy', '--project', tmp] } },
    );
    await control.setBackends('blue', { app: blue[0] });
    await control.setBackends('green', { app: green[0] });
    await control.switchTo('blue');
    const visits = { blue: 0, green: 0 };
    let drainTimedOut = 0;
    try {
      const r = await soak(
        'builtin',
        port,
        async (to, from) => {
          visits[to]++;
          await control.setBackends(to, { app: (to === 'blue' ? blue : green)[visits[to] % 2] });
          const t = performance.now();
          await control.switchTo(to);
          const ms = performance.now() - t;
          if ((await control.drain(from, 2_000)).timedOut) drainTimedOut++;
          return ms;
        },
        () => [status.pid],
      );
      return {
        pid: status.pid,
        cycle: 'setBackends (alternating backend process) + switchTo + drain(old colour)',
        drainTimedOut,
        fdKindsAfter: fdKinds(status.pid),
        ...r,
      };
    } finally {
      await cleanups.pop()();
    }
  }

  async function nginx() {
    const blue = await backend();
    const green = await backend();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-soak-nginx-'));
    const port = await freePort();
    const config = configSchema.parse({
      app: 'soak',
      proxy: { kind: 'nginx', listen: { http: port, host: '127.0.0.1' }, routes },
      services: { app: { command: 'true', health: { path: '/' } } },
    });
    const driver = nginxDriver(projectPaths(tmp), config);
    cleanups.push(async () => (await driver.stop(), fs.rmSync(tmp, { recursive: true, force: true })));
    try {
      const { control, status } = await driver.ensure();
      await control.setBackends('blue', { app: blue });
      await control.setBackends('green', { app: green });
      await control.switchTo('blue');
      const master = status.pid;
      const workers = () => childrenOf(master);
      const r = await soak(
        'nginx',
        port,
        async (to) => {
          await control.setBackends(to, { app: to === 'blue' ? blue : green });
          const t = performance.now();
          await control.switchTo(to);
          return performance.now() - t;
        },
        () => [master, ...workers()],
      );
      return {
        nginx: await nginxVersion('nginx'),
        masterPid: master,
        workers: workers().length,
        cycle: 'setBackends (unchanged: no reload) + switchTo (flag file)',
        summedOver: 'master + workers',
        ...r,
      };
    } finally {
      await cleanups.pop()();
    }
  }

  let code = 0;
  try {
    const result = {
      when: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      loadAvg1mBefore: Number(os.loadavg()[0].toFixed(2)),
    };
    if (which !== 'nginx') result.builtin = await builtin();
    if (which !== 'builtin') result.nginx = await nginx();
    for (const k of ['builtin', 'nginx']) if (result[k] && (result[k].failed > 0 || result[k].misrouted > 0)) code = 1;
    fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
    fs.writeFileSync(path.join(root, 'bench', 'out', 'soak.json'), JSON.stringify(result, null, 2) + '\n');
    const svg = chart(result);
    fs.writeFileSync(path.join(root, 'bench', 'out', 'soak.svg'), svg);
    if (which === 'both') fs.writeFileSync(path.join(root, 'docs', 'soak.svg'), svg);
    console.log('wrote bench/out/soak.json and bench/out/soak.svg');
  } catch (e) {
    console.error(e);
    code = 1;
  } finally {
    for (const c of cleanups.reverse()) await c().catch((e) => console.error(`cleanup: ${e.message}`));
    for (const c of children) if (c.connected) c.disconnect();
    clearTimeout(watchdog);
  }
  process.exit(code);
}

/** RSS and fds over the switches, one row of two panels per proxy. */
function chart(result) {
  const rows = ['builtin', 'nginx'].filter((k) => result[k]);
  const W = 960;
  const H = 250;
  const parts = [
    `<text x="20" y="26" font-size="16" font-weight="600" fill="${COLOURS.text}">` +
      `Soak: memory and open fds while switching colours back and forth under keep-alive load</text>`,
  ];
  rows.forEach((k, row) => {
    const r = result[k];
    const who = k === 'builtin' ? 'Built-in proxy daemon' : 'nginx, master + workers';
    const oy = 44 + row * H;
    parts.push(
      `<text x="20" y="${oy + 16}" font-size="14" font-weight="600" fill="${COLOURS.text}">` +
        `${who}: ${r.switches} switches, ${r.requests.toLocaleString('en-US')} requests, ${r.failed} failed</text>`,
    );
    parts.push(
      ...linePanel({
        ox: 0,
        oy: oy + 20,
        width: W / 2,
        height: H - 24,
        title: 'RSS under load (MB)',
        series: [
          {
            label:
              `start ${r.rssMb.start}, end ${r.rssMb.end}, max ${r.rssMb.max}; ` +
              `idle ${r.rssMb.idleBefore} before, ${r.rssMb.idleAfter} after`,
            colour: COLOURS.blue,
            points: r.series.map((s) => [s.switch, s.rssMb]),
          },
        ],
        xLabel: 'switches done',
        yLabel: 'MB',
      }),
    );
    parts.push(
      ...linePanel({
        ox: W / 2,
        oy: oy + 20,
        width: W / 2,
        height: H - 24,
        title: 'open fds',
        series: [
          { label: 'under load', colour: COLOURS.green, points: r.series.map((s) => [s.switch, s.fds]) },
          {
            label: `idle: ${r.fds.idleBefore} before the load, ${r.fds.idleAfter} after`,
            colour: COLOURS.axis,
            dash: '4 3',
            points: [
              [0, r.fds.idleBefore],
              [r.switches, r.fds.idleAfter],
            ],
          },
        ],
        xLabel: 'switches done',
        yLabel: 'fds',
      }),
    );
  });
  return svgDocument(
    { width: W, height: 54 + rows.length * H, title: 'switchyard soak: RSS and fds while switching' },
    parts,
  );
}
