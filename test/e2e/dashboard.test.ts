/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core): a real project
 * (real processes, the real built-in proxy), the dashboard as a child process of the built CLI,
 * and the deploys, rollbacks and switches it shows run from the CLI in other processes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { request } from 'undici';
import { startLoad } from '../../src/load/load.ts';
import { budget } from '../helpers/budget.ts';
import { CLI, makeProject, ROOT, type Project } from '../helpers/project.ts';

const CHROMIUM = '/usr/bin/chromium';

let p: Project;
let browser: Browser;
let page: Page;
let dash: { child: ChildProcess; url: string; port: number; token: string; out: string[] };

/** Starts `switchyard dashboard --json` and waits for its `dashboard` event (the URL, and the token it made). */
async function startDashboard(args: string[]): Promise<typeof dash> {
  const child = spawn(process.execPath, [CLI, '--json', 'dashboard', ...args], {
    cwd: p.dir,
    env: p.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard event in 10 s:\n${out.join('')}`)), 10_000);
    let buf = '';
    child.stderr!.on('data', (d) => out.push(String(d)));
    child.stdout!.on('data', (d) => {
      buf += d;
      out.push(String(d));
      for (const line of buf.split('\n').slice(0, -1)) {
        const ev = JSON.parse(line) as { event: string; url?: string; port?: number; token?: string };
        if (ev.event === 'dashboard') {
          clearTimeout(timer);
          resolve({ child, url: ev.url!, port: ev.port!, token: ev.token ?? args[args.indexOf('--token') + 1]!, out });
        }
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    child.on('exit', (code) => reject(new Error(`dashboard exited ${code}:\n${out.join('')}`)));
  });
}

async function stopDashboard(): Promise<number | null> {
  const exited = new Promise<number | null>((r) => dash.child.once('exit', (code) => r(code)));
  dash.child.kill('SIGTERM');
  return exited;
}

const state = async () =>
  JSON.parse((await p.file('.switchyard/state.json'))!) as {
    active: string;
    colours: Record<string, { release: string }>;
  };
const history = async () =>
  ((await p.file('.switchyard/history.jsonl')) ?? '')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; origin?: string; to: string; result: string; who: string });

/** The last point of a traffic chart for a colour (the page puts it in data-last-<colour>); NaN when none. */
const lastOf = async (chart: string, colour: string) =>
  Number((await page.locator(`[data-testid=chart-${chart}]`).getAttribute(`data-last-${colour}`)) || Number.NaN);

/**
 * Waits until the requests/s chart's last point satisfies `ok` for both colours (the page's own
 * values), polling from here: the page's CSP forbids the eval that page.waitForFunction needs.
 */
async function waitRates(
  ok: (blue: number, green: number) => boolean,
  timeout = 10_000,
  after = 0,
): Promise<{ blue: number; green: number; t: number }> {
  const deadline = Date.now() + timeout;
  let seen = '';
  while (Date.now() < deadline) {
    const [blue, green] = [await lastOf('rps', 'blue'), await lastOf('rps', 'green')];
    // The time of the point these values belong to (read last: a newer point only makes it later).
    const t = Number(await page.locator('[data-testid=chart-rps]').getAttribute('data-last-t'));
    if (t > after && ok(blue, green)) return { blue, green, t };
    seen = `blue ${blue}, green ${green} at ${t}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the requests/s chart never matched ${ok} (last: ${seen})`);
}

before(async () => {
  p = await makeProject('fixture');
  // A live watch to show (deploy.rollbackOn, a short deploy.watch) and a backup to list.
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = (await fs.readFile(yml, 'utf8')).replace(
    'deploy:\n',
    'deploy:\n  rollbackOn: { errorRate: 50%, minRequests: 5 }\n  watch: 2s\n',
  );
  await fs.writeFile(yml, `${text}backup: { kind: command, dump: [sh, -c, "echo dump"], keep: 5 }\n`);
  const init = await p.run(['init']);
  assert.equal(init.code, 0, init.stdout + init.stderr);
  dash = await startDashboard(['--port', '0']);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('dialog', (d) => void d.accept());
  await page.goto(dash.url);
}, budget(8_000));

after(async () => {
  await browser?.close();
  if (dash?.child.exitCode === null) await stopDashboard();
  await p?.cleanup();
}, budget(5_000));

test(
  'the dashboard prints its URL on 127.0.0.1 and a generated token; the page sends a strict CSP',
  budget(1_000),
  async () => {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(dash.token.length >= 40, 'a generated 32-byte token');
    const res = await request(dash.url);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-security-policy']), /default-src 'self'; script-src 'self'/);
    assert.match(await res.body.text(), /<script type="module" src="\/assets\/app.js">/);
  },
);

test('the page shows the active colour and its release', budget(2_000), async () => {
  const s = await state();
  await page.locator('[data-testid=active] [data-colour=blue]').waitFor({ timeout: 10_000 });
  await page.getByText(s.colours.blue!.release).first().waitFor({ timeout: 5_000 });
  assert.equal(s.active, 'blue');
  assert.match((await page.locator('[data-testid=release]').textContent()) ?? '', /init/);
  assert.equal(await page.locator('[data-testid=connection]').textContent(), 'live');
});

test(
  'a deploy --auto-switch from the CLI under load appears step by step, each step within 1 s of the CLI',
  budget(8_000),
  async (t) => {
    // Every step the page shows, with when it first appeared (the browser's clock is this machine's).
    // A string, not a function: tsx's helpers (__name) do not exist in the page.
    await page.evaluate(`(() => {
      window.seen = [];
      const note = () => {
        for (const li of document.querySelectorAll('[data-testid=operation] li[data-step]')) {
          const title = li.textContent ?? '';
          if (!window.seen.some((s) => s.title === title)) window.seen.push({ title, at: Date.now() });
        }
      };
      new MutationObserver(note).observe(document.body, { childList: true, subtree: true, characterData: true });
    })()`);
    const load = startLoad({
      origin: `http://127.0.0.1:${p.port}`,
      path: '/api/echo',
      connections: 4,
      maxRequests: 20_000,
      maxMs: 30_000,
    });
    // The requests/s chart: the load on blue only, before the deploy.
    await waitRates((blue, green) => blue > 0 && green === 0);
    const printed = new Map<string, number>();
    const child = spawn(process.execPath, [CLI, '--json', 'deploy', '--auto-switch'], {
      cwd: p.dir,
      env: p.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    let all = '';
    child.stdout.on('data', (d) => {
      const now = Date.now();
      buf += d;
      all += d;
      for (const line of buf.split('\n').slice(0, -1)) {
        const ev = JSON.parse(line) as { event: string; title?: string; status?: string };
        if (ev.event === 'step' && ev.title && !printed.has(ev.title)) printed.set(ev.title, now);
      }
      buf = buf.slice(buf.lastIndexOf('\n') + 1);
    });
    child.stderr.on('data', (d) => (all += d));
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0, all);
    await page.locator('[data-testid=active] [data-colour=green]').waitFor({ timeout: 5_000 });
    // ...and on green only once the deploy stopped blue.
    await waitRates((blue, green) => green > 0 && blue === 0);
    const totals = await load.stop();
    const seen = new Map(
      ((await page.evaluate('window.seen')) as Array<{ title: string; at: number }>).map(
        (s) => [s.title, s.at] as const,
      ),
    );
    const lags: string[] = [];
    for (const [title, at] of printed) {
      const shown = seen.get(title);
      assert.ok(shown !== undefined, `step "${title}" never appeared on the page (seen: ${[...seen.keys()]})`);
      lags.push(`${title}: ${shown - at} ms`);
      assert.ok(shown - at <= 1_000, `step "${title}" appeared ${shown - at} ms after the CLI printed it`);
    }
    t.diagnostic(`${printed.size} steps; page minus CLI: ${lags.join('; ')}`);
    t.diagnostic(`load: ${totals.sent} sent, ${totals.failed} failed, by colour ${JSON.stringify(totals.byColour)}`);
    assert.equal(totals.failed, 0);
    assert.equal((await state()).active, 'green');
    // The deploy wrote its request timeline; the page shows it: both colours served, no error.
    const timeline = JSON.parse((await p.file('.switchyard/timeline.json'))!) as {
      result: string;
      steps: Array<{ title: string }>;
      points: Array<Record<'blue' | 'green', { requests: number; errors: number }>>;
    };
    assert.equal(timeline.result, 'success');
    assert.deepEqual(
      timeline.steps.map((s) => s.title),
      [...printed.keys()],
    );
    const served = (c: 'blue' | 'green') => timeline.points.reduce((a, x) => a + x[c].requests, 0);
    assert.ok(served('blue') > 0 && served('green') > 0, `blue ${served('blue')}, green ${served('green')}`);
    const shown = page.locator('[data-testid=timeline-totals]');
    await shown.locator('[data-total=green]').waitFor({ timeout: 5_000 });
    for (const c of ['blue', 'green'] as const) {
      assert.equal(Number(await shown.locator(`[data-total=${c}]`).getAttribute('data-requests')), served(c));
      assert.equal(await shown.locator(`[data-total=${c}]`).getAttribute('data-errors'), '0');
    }
  },
);

test(
  'clicking rollback with the token rolls back: state, a history record naming the dashboard, traffic',
  budget(5_000),
  async () => {
    const before = await state();
    assert.equal(before.active, 'green');
    const load = startLoad({
      origin: `http://127.0.0.1:${p.port}`,
      path: '/api/echo',
      connections: 2,
      maxRequests: 20_000,
      maxMs: 20_000,
    });
    await page.locator('[data-testid=token]').fill(dash.token);
    await page.locator('[data-testid=rollback]').click();
    await page.locator('[data-testid=action-result]').getByText('rollback: done').waitFor({ timeout: 20_000 });
    const done = Date.now();
    await page.locator('[data-testid=active] [data-colour=blue]').waitFor({ timeout: 5_000 });
    await new Promise((r) => setTimeout(r, 500));
    const totals = await load.stop();
    assert.equal((await state()).active, 'blue');
    const last = (await history()).at(-1)!;
    assert.deepEqual([last.type, last.result, last.to, last.origin], ['rollback', 'success', 'blue', 'dashboard']);
    const afterIt = totals.samples.filter((s) => totals.startedAt + s.at > done);
    assert.ok(afterIt.length > 0, 'requests after the rollback');
    assert.ok(
      afterIt.every((s) => s.colour === 'blue' && s.status === 200),
      'every request after it on blue',
    );
    assert.equal(totals.failed, 0);
    await page.locator('[data-testid=history] tr[data-origin=dashboard]').first().waitFor({ timeout: 5_000 });
  },
);

test(
  'each colour shows the last result of each health level; backups and a filtered history',
  budget(2_000),
  async () => {
    const blue = page.locator('[data-testid=colour-blue] [data-testid=health]');
    await blue.getByText('passes').waitFor({ timeout: 15_000 });
    assert.equal(await blue.locator('li[data-level]').count(), 5);
    assert.equal(await blue.locator('li[data-level="3"]').getAttribute('data-ok'), 'true');
    // Each deploy took a backup first (backup.kind: command).
    const backups = page.locator('[data-testid=backups] tr[data-backup]');
    await backups.first().waitFor({ timeout: 5_000 });
    assert.ok((await backups.count()) >= 1);
    assert.match((await backups.first().textContent()) ?? '', /deploy/);
    const rows = page.locator('[data-testid=history] tr[data-type]');
    const all = await rows.count();
    await page.locator('[data-testid=history-type]').selectOption('rollback');
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute('data-origin'), 'dashboard');
    await page.locator('[data-testid=history-type]').selectOption('all');
    await page.locator('[data-testid=history-text]').fill('no-such-text-anywhere');
    assert.equal(await rows.count(), 0);
    await page.locator('[data-testid=history-text]').fill('');
    assert.equal(await rows.count(), all);
  },
);

test(
  'refused actions change nothing: no token 401, another origin 403, 100 KB 413, not JSON 400',
  budget(1_000),
  async () => {
    const before = [await p.file('.switchyard/state.json'), (await history()).length];
    const origin = `http://127.0.0.1:${dash.port}`;
    const post = async (headers: Record<string, string>, body = '{"colour":"green"}') => {
      const res = await request(`${origin}/api/actions/switch`, { method: 'POST', headers, body });
      await res.body.dump();
      return res.statusCode;
    };
    const json = { 'content-type': 'application/json' };
    const auth = { authorization: `Bearer ${dash.token}` };
    assert.equal(await post({ ...json, origin }), 401);
    assert.equal(await post({ ...json, origin, authorization: 'Bearer wrong-token-wrong-token-wrong' }), 401);
    assert.equal(await post({ ...json, ...auth, origin: 'http://evil.example' }), 403);
    assert.equal(await post({ ...json, ...auth }), 403, 'no Origin at all');
    assert.equal(await post({ ...json, ...auth, origin, host: `evil.example:${dash.port}` }), 403, 'DNS rebinding');
    assert.equal(await post({ ...json, ...auth, origin }, `{"colour":"${'x'.repeat(100 * 1024)}"}`), 413);
    assert.equal(await post({ ...json, ...auth, origin }, 'colour=green'), 400);
    assert.equal(await post({ 'content-type': 'text/plain', ...auth, origin }), 400);
    assert.deepEqual([await p.file('.switchyard/state.json'), (await history()).length], before);
  },
);

test('asset paths cannot leave the assets folder', budget(1_000), async () => {
  for (const bad of [
    '/assets/../../etc/passwd',
    '/assets/%2e%2e/%2e%2e/etc/passwd',
    '/assets/..%2f..%2fetc%2fpasswd',
    '/assets/%252e%252e%252fetc%252fpasswd',
    '/assets/..%5c..%5cetc%5cpasswd',
    '/../../etc/passwd',
    '/assets/server.js',
  ]) {
    const res = await request(`http://127.0.0.1:${dash.port}${bad}`);
    const body = await res.body.text();
    assert.equal(res.statusCode, 404, `${bad}: ${res.statusCode}`);
    assert.doesNotMatch(body, /root:/);
  }
});

test(
  'an action while another command holds the lock: the page shows the owner, nothing changes',
  budget(1_000),
  async () => {
    const lock = path.join(p.dir, '.switchyard', 'lock');
    const before = await p.file('.switchyard/state.json');
    await fs.writeFile(
      lock,
      JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'deploy', time: new Date().toISOString() }),
    );
    try {
      await page.locator('[data-testid=token]').fill(dash.token);
      await page.locator('[data-testid=switch]').click();
      const result = page.locator('[data-testid=action-result]');
      await result.getByText(`another switchyard command holds the lock: deploy (pid ${process.pid}`).waitFor({
        timeout: 10_000,
      });
      assert.match((await result.textContent()) ?? '', /refused \(409\)/);
      assert.equal(await p.file('.switchyard/state.json'), before);
    } finally {
      await fs.rm(lock, { force: true });
    }
  },
);

test(
  'the page keeps working across a proxy restart: the proxy comes back and the charts go on from its new counters',
  budget(3_000),
  async () => {
    const load = startLoad({
      origin: `http://127.0.0.1:${p.port}`,
      path: '/api/echo',
      connections: 2,
      maxRequests: 20_000,
      maxMs: 30_000,
    });
    try {
      await waitRates((blue) => blue > 0);
      const pid = Number((await p.file('.switchyard/run/proxy.pid'))!.trim());
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      // The supervisor starts it again (proxy.restart); the page follows without a reload.
      const pidNow = async () => Number((await p.file('.switchyard/run/proxy.pid'))?.trim() ?? '');
      const deadline = Date.now() + 15_000;
      while ((await pidNow()) === pid && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.notEqual(await pidNow(), pid, 'a new proxy process');
      await page.locator('[data-testid=traffic]').getByText('running').first().waitFor({ timeout: 5_000 });
      // Its counters start at zero: the chart shows rates again from a point after the restart (a
      // point from before it would prove nothing), never a negative one.
      const again = await waitRates((blue) => blue > 0, 15_000, killedAt + 1_000);
      assert.ok(again.blue > 0, JSON.stringify(again));
      assert.equal(await page.locator('[data-testid=connection]').textContent(), 'live');
    } finally {
      await load.stop();
    }
  },
);

test(
  'the page reconnects after the dashboard restarts (now from dashboard: in switchyard.yml)',
  budget(5_000),
  async () => {
    const { port, token } = dash;
    assert.equal(await stopDashboard(), 0);
    await page.locator('[data-testid=connection]').getByText('reconnecting...').waitFor({ timeout: 5_000 });
    // The proxy changes while no dashboard runs: the page must show it after reconnecting.
    const r = await p.run(['maintenance', 'on']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // The same port and token, from the config this time (dashboard.listen, dashboard.token).
    const yml = path.join(p.dir, 'switchyard.yml');
    await fs.appendFile(yml, `dashboard: { listen: { port: ${port} }, token: "${token}" }\n`);
    dash = await startDashboard([]);
    assert.equal(dash.port, port);
    assert.ok(!dash.out.join('').includes(token), 'a token from the config is never printed');
    dash.token = token;
    await page.locator('[data-testid=connection]').getByText('live').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid=maintenance]').getByText('ON').waitFor({ timeout: 5_000 });
    const off = await p.run(['maintenance', 'off']);
    assert.equal(off.code, 0, off.stdout + off.stderr);
    await page.locator('[data-testid=maintenance]').getByText('off').waitFor({ timeout: 5_000 });
  },
);

/** `deploy --canary 30,100` with a step that would last a minute, under a small load. */
function canaryDeploy() {
  const load = startLoad({
    origin: `http://127.0.0.1:${p.port}`,
    path: '/api/echo',
    connections: 2,
    maxRequests: 40_000,
    maxMs: 60_000,
  });
  const started = Date.now();
  const deploy = p.run(['deploy', '--auto-switch', '--canary', '30,100', '--step-wait', '60s'], { timeoutMs: 90_000 });
  return { load, deploy, started };
}

test(
  'a canary in progress: its split and live watch; promote from the page ends the step; a screenshot for the docs',
  budget(12_000),
  async () => {
    const before = (await state()).active;
    const { load, deploy, started } = canaryDeploy();
    await page.locator('[data-testid=split]').getByText('30% of clients on').waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=operation] li[data-status=started]').first().waitFor({ timeout: 5_000 });
    // The step's live watch, against deploy.rollbackOn, as the dashboard computes it.
    const watch = page.locator('[data-testid=watch][data-verdict=ok]');
    await watch.waitFor({ timeout: 10_000 });
    assert.match((await watch.textContent()) ?? '', /limits.*at least 5.*\+50\.0%/s);
    await page.locator('[data-testid=token]').fill(dash.token);
    const promote = page.locator('[data-testid=promote]');
    await promote.getByText('Promote 30% step').waitFor({ timeout: 5_000 });
    await page.screenshot({ path: path.join(ROOT, 'docs', 'dashboard.png'), fullPage: true });
    await promote.click();
    await page.locator('[data-testid=action-result]').getByText('promote: done').waitFor({ timeout: 10_000 });
    const r = await deploy;
    const totals = await load.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(Date.now() - started < 45_000, 'the 60 s step ended early');
    assert.match(r.stdout, /promoted by \S+ from dashboard/);
    assert.equal(totals.failed, 0);
    const after = (await state()).active;
    assert.notEqual(after, before);
    await page.locator(`[data-testid=active] [data-colour=${after}]`).waitFor({ timeout: 5_000 });
    const last = (await history()).at(-1) as {
      type: string;
      result: string;
      canaryControl?: Array<{ origin: string }>;
    };
    assert.deepEqual([last.type, last.result, last.canaryControl?.[0]?.origin], ['deploy', 'success', 'dashboard']);
  },
);

test(
  'abort from the page puts every client back and fails the deploy; nothing to promote is a 409',
  budget(8_000),
  async () => {
    const before = await p.file('.switchyard/state.json');
    const live = (await state()).active;
    const { load, deploy } = canaryDeploy();
    const abort = page.locator('[data-testid=abort]');
    await abort.waitFor({ timeout: 30_000 });
    await abort.click();
    await page.locator('[data-testid=action-result]').getByText('abort: done').waitFor({ timeout: 10_000 });
    const done = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const r = await deploy;
    const totals = await load.stop();
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /canary aborted at 30% by \S+ from dashboard/);
    assert.equal(totals.failed, 0);
    assert.equal(await p.file('.switchyard/state.json'), before, 'state.json unchanged');
    const after = totals.samples.filter((x) => totals.startedAt + x.at > done);
    assert.ok(after.length > 0, 'requests after the abort');
    const elsewhere = after.filter((x) => x.colour !== live);
    assert.equal(elsewhere.length, 0, `after the abort, on ${live}: ${JSON.stringify(elsewhere.slice(0, 3))}`);
    const last = (await history()).at(-1)!;
    assert.deepEqual([last.type, last.result], ['deploy', 'failed']);
    // No deploy waits in a canary step now: promote is refused and changes nothing.
    const origin = `http://127.0.0.1:${dash.port}`;
    const res = await request(`${origin}/api/actions/promote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${dash.token}`, origin },
      body: '{}',
    });
    const body = (await res.body.json()) as { error: { code: string } };
    assert.equal(res.statusCode, 409);
    assert.equal(body.error.code, 'NO_CANARY');
    assert.equal(await p.file('.switchyard/state.json'), before);
  },
);
