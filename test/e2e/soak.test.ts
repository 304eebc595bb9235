/**
 * Soak, shortened for CI (bench/soak.mjs does 500 switches per proxy): 60 colour switches back and
 * forth under a continuous keep-alive load through the real built-in proxy daemon (the CLI bundle,
 * detached, as every command starts it) and through nginx in host mode. No request may fail or
 * reach the old colour after a switch returned, and the daemon must not keep what it no longer
 * needs: once the load stopped and its backend keep-alive sockets timed out (4 s), it holds as
 * many open fds as before the load (a leak of one socket per switch would leave 60 more), and its
 * RSS grew by less than a generous bound (V8 grows its heap for a while under load; see README).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Colour } from '../../src/config/schema.ts';
import { startLoad, type LoadTotals } from '../../src/load/load.ts';
import { ensureProxy, stopProxy } from '../../src/proxy/launch.ts';
import type { ProxyControl } from '../../src/proxy/types.ts';
import { projectPaths } from '../../src/state/paths.ts';
import { childrenOf } from '../../src/util/procinfo.ts';
import { freePort, startBackend, type TestBackend } from '../helpers/backends.ts';
import { nginxProject } from '../helpers/nginx.ts';
import { budget } from '../helpers/budget.ts';
import { CLI } from '../helpers/project.ts';

const SWITCHES = 60;
const CONNECTIONS = 16;
const EVERY = 150; // requests between two switches, at least
const MIN_GAP_MS = 120; // and time (so each colour serves a while)
const WARMUP_MS = 1_000;
/**
 * Measured: 60 switches grow the daemon's RSS by about 20-25 MB from the warm start (V8 heap growth
 * that levels off at ~110 MB).
 */
const RSS_GROWTH_LIMIT_MB = 80;
/** Idle fds after the load may differ from before by this much (none seen in practice). */
const FD_MARGIN = 3;
/** The daemon closes idle backend sockets after 4 s: wait up to this long for the fds to come back. */
const SETTLE_MS = 8_000;
/**
 * The most one switch waits for its EVERY requests and MIN_GAP_MS (the load may be slow to start on
 * a loaded machine).
 */
const SWITCH_WAIT_MS = 10_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}
const fdCount = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;
const usage = (pids: number[]) => ({
  rssMb: Math.round(pids.reduce((s, p) => s + rssMb(p), 0) * 10) / 10,
  fds: pids.reduce((s, p) => s + fdCount(p), 0),
});

interface Mark {
  start: number;
  end: number;
  colour: Colour;
}

/** Requests that started after a switch returned (and 50 ms before the next began) but reached another colour. */
function misrouted(totals: LoadTotals, marks: Mark[]): { wrong: string[]; checked: number } {
  const wrong: string[] = [];
  let checked = 0;
  for (const s of totals.samples) {
    const t = totals.startedAt + s.at;
    let i = marks.length - 1;
    while (i >= 0 && marks[i]!.end > t) i--;
    if (i < 0 || s.status !== 200) continue;
    const next = marks[i + 1];
    if (next && t >= next.start - 50) continue;
    checked++;
    if (s.colour !== marks[i]!.colour)
      wrong.push(`${t - marks[i]!.end} ms after the switch to ${marks[i]!.colour}: ${s.colour}`);
  }
  return { wrong, checked };
}

interface SoakResult {
  totals: LoadTotals;
  wrong: string[];
  checked: number;
  idleBefore: { rssMb: number; fds: number };
  start: { rssMb: number; fds: number };
  end: { rssMb: number; fds: number };
  idleAfter: { rssMb: number; fds: number };
  maxUnderLoad: { rssMb: number; fds: number };
}

/** The load, SWITCHES switches (`doSwitch(to, from)`), /proc samples of `pids()`. */
async function soak(
  t: TestContext,
  port: number,
  doSwitch: (to: Colour, from: Colour) => Promise<void>,
  pids: () => number[],
): Promise<SoakResult> {
  const t0 = Date.now();
  const idleBefore = usage(pids());
  const load = startLoad({
    origin: `http://127.0.0.1:${port}`,
    path: '/soak',
    connections: CONNECTIONS,
    maxRequests: SWITCHES * EVERY * 6 + 50_000,
    maxMs: 60_000,
  });
  let totals: LoadTotals | undefined;
  try {
    await sleep(WARMUP_MS);
    const start = usage(pids());
    const max = { ...start };
    const marks: Mark[] = [];
    let colour: Colour = 'blue';
    let last = { sent: load.sent, at: Date.now() };
    for (let i = 1; i <= SWITCHES; i++) {
      const deadline = Date.now() + SWITCH_WAIT_MS;
      while ((load.sent < last.sent + EVERY || Date.now() - last.at < MIN_GAP_MS) && Date.now() < deadline)
        await sleep(2);
      const to: Colour = colour === 'blue' ? 'green' : 'blue';
      const s = Date.now();
      await doSwitch(to, colour);
      marks.push({ start: s, end: Date.now(), colour: to });
      colour = to;
      last = { sent: load.sent, at: Date.now() };
      if (i % 10 === 0) {
        const u = usage(pids());
        max.rssMb = Math.max(max.rssMb, u.rssMb);
        max.fds = Math.max(max.fds, u.fds);
      }
    }
    const end = usage(pids());
    totals = await load.stop();
    const settleFrom = Date.now();
    // Wait for the idle keep-alive sockets to time out; a leaked one never does.
    const deadline = Date.now() + SETTLE_MS;
    let idleAfter = usage(pids());
    while (idleAfter.fds > idleBefore.fds + FD_MARGIN && Date.now() < deadline) {
      await sleep(100);
      idleAfter = usage(pids());
    }
    const { wrong, checked } = misrouted(totals, marks);
    const r = { totals, wrong, checked, idleBefore, start, end, idleAfter, maxUnderLoad: max };
    const switchMs = marks.map((m) => m.end - m.start).sort((a, b) => a - b);
    t.diagnostic(
      `took ${Date.now() - t0} ms: warm-up ${WARMUP_MS} ms, ` +
        `${SWITCHES} switches in ${marks.at(-1)!.end - marks[0]!.start} ms ` +
        `(each ${switchMs[0]}-${switchMs.at(-1)} ms, median ${switchMs[switchMs.length >> 1]}), ` +
        `settle ${Date.now() - settleFrom} ms`,
    );
    t.diagnostic(
      `${SWITCHES} switches, ${totals.sent} requests in ${totals.ms} ms, ` +
        `failed ${totals.failed} ${JSON.stringify(totals.errors)}, ` +
        `by colour ${JSON.stringify(totals.byColour)}, colour checked on ${checked}`,
    );
    t.diagnostic(
      `RSS MB: idle ${idleBefore.rssMb}, start ${start.rssMb}, end ${end.rssMb}, max ${max.rssMb}, ` +
        `idle after ${idleAfter.rssMb}`,
    );
    t.diagnostic(
      `fds: idle ${idleBefore.fds}, start ${start.fds}, end ${end.fds}, max ${max.fds}, idle after ${idleAfter.fds}`,
    );
    return r;
  } finally {
    if (totals === undefined) await load.stop();
  }
}

function assertClean(r: SoakResult): void {
  assert.equal(r.totals.failed, 0, `failed requests: ${JSON.stringify(r.totals.errors)}`);
  assert.ok(r.totals.sent >= SWITCHES * EVERY, `only ${r.totals.sent} requests`);
  assert.ok((r.totals.byColour.blue ?? 0) > 0 && (r.totals.byColour.green ?? 0) > 0, JSON.stringify(r.totals.byColour));
  assert.deepEqual(
    r.wrong.slice(0, 5),
    [],
    `${r.wrong.length} request(s) reached the old colour after a switch returned`,
  );
  assert.ok(r.checked > r.totals.sent * 0.2, `only ${r.checked} requests checked against their colour`);
  assert.ok(
    r.idleAfter.fds <= r.idleBefore.fds + FD_MARGIN,
    `open fds idle: ${r.idleBefore.fds} before the load, ${r.idleAfter.fds} ${SETTLE_MS} ms after it`,
  );
}

/*
 * Each part has its own timeout, sized from what it measured (test/helpers/budget.ts): the work is
 * bounded by count (SWITCHES, each waiting at most SWITCH_WAIT_MS for its requests), so a slow
 * machine makes a part slower, never endless, and one part never eats the other's time (a shared
 * 90 s budget once cancelled the nginx part after a slow built-in part on a fresh machine).
 */

describe('soak: 60 switches under keep-alive load', () => {
  const backends: Record<Colour, TestBackend[]> = { blue: [], green: [] };
  before(async () => {
    for (const c of ['blue', 'green'] as const) backends[c] = [await startBackend(c), await startBackend(c)];
  }, budget(300));
  after(async () => {
    for (const b of [...backends.blue, ...backends.green]) await b.close();
  }, budget(300));
  const ep = (c: Colour, i: number) => ({ app: [{ host: '127.0.0.1', port: backends[c][i % 2]!.port }] });

  it(
    'built-in proxy daemon: no failed request, fds back to where they were, RSS bounded',
    budget(13_400),
    async (t) => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-soak-'));
      const paths = projectPaths(root);
      const port = await freePort();
      try {
        const { control, status } = await ensureProxy(
          paths,
          { listen: { host: '127.0.0.1', port }, routes: [{ path: '/', service: 'app' }] },
          { command: { file: process.execPath, args: [CLI, 'proxy', '--project', root] } },
        );
        assert.notEqual(status.pid, process.pid, 'the daemon runs in its own process');
        await control.setBackends('blue', ep('blue', 0));
        await control.setBackends('green', ep('green', 0));
        await control.switchTo('blue');
        // What a deploy does to the proxy: the incoming colour on a new backend process, switch,
        // then drain the outgoing colour (which closes its pooled connections).
        const visits = { blue: 0, green: 0 };
        let drainTimedOut = 0;
        const r = await soak(
          t,
          port,
          async (to, from) => {
            visits[to]++;
            await control.setBackends(to, ep(to, visits[to]));
            await control.switchTo(to);
            if ((await control.drain(from, 2_000)).timedOut) drainTimedOut++;
          },
          () => [status.pid],
        );
        assertClean(r);
        assert.equal(drainTimedOut, 0);
        assert.ok(
          r.end.rssMb - r.start.rssMb < RSS_GROWTH_LIMIT_MB,
          `RSS grew from ${r.start.rssMb} to ${r.end.rssMb} MB in ${SWITCHES} switches`,
        );
        assert.ok(
          r.idleAfter.rssMb - r.start.rssMb < RSS_GROWTH_LIMIT_MB,
          `RSS idle after the load: ${r.idleAfter.rssMb} MB (start ${r.start.rssMb})`,
        );
      } finally {
        await stopProxy(paths).catch(() => {});
        fs.rmSync(root, { recursive: true, force: true });
      }
    },
  );

  it(
    'nginx (host mode): no failed request, fds of master and workers back to where they were',
    budget(16_600),
    async (t) => {
      // nginx is part of what CI must have (scripts/setup-infra.sh installs it): missing, this fails.
      const probe = spawnSync('nginx', ['-v'], { encoding: 'utf8', timeout: 10_000 });
      assert.ok(
        !probe.error && probe.status === 0,
        'nginx is required for this test and was not found or did not run (`nginx -v`: ' +
          `${probe.error?.message ?? `exit ${probe.status}: ${probe.stderr}`}); ` +
          'install it with `sudo bash scripts/setup-infra.sh` or `apt-get install nginx`',
      );
      const p = await nginxProject([{ path: '/', service: 'app' }]);
      try {
        const { control, status } = await p.driver.ensure();
        await control.setBackends('blue', ep('blue', 0));
        await control.setBackends('green', ep('green', 0));
        await control.switchTo('blue');
        const c: ProxyControl = control;
        // What `switchyard switch` does: set the colour's backends (unchanged: no reload), flip the flag.
        const r = await soak(
          t,
          p.port,
          async (to) => {
            await c.setBackends(to, ep(to, 0));
            await c.switchTo(to);
          },
          () => [status.pid, ...childrenOf(status.pid)],
        );
        assertClean(r);
      } finally {
        await p.cleanup();
      }
    },
  );
});
