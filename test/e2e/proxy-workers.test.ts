/**
 * The built-in proxy with proxy.workers: 2, through the real CLI and real processes: the daemon
 * forks two workers that share the public port. Every guarantee of the one-process proxy must hold
 * across them (I3: no request fails during switches and deploys, none reaches the old colour after
 * a switch returned, a drain waits for requests on either worker), and the process model must hold
 * under faults: a killed worker is replaced from the saved state, a killed daemon takes its workers
 * with it and the next command starts a fresh one on the same colour.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { startLoad } from '../../src/load/load.ts';
import { proxyClient } from '../../src/proxy/client.ts';
import { pidAlive } from '../../src/util/pid.ts';
import { diffStats } from '../../src/proxy/stats.ts';
import { budget } from '../helpers/budget.ts';
import { waitFor } from '../helpers/faults.ts';
import { makeProject, useProject } from '../helpers/project.ts';
import { assertFollowsMarks, assertNoFailureThroughDeploysAndSwitches, keepLoading } from '../helpers/switch-marks.ts';

// proxy.restart: never: these tests are about what a command does with a dead or changed proxy.
const project = useProject({ before, after }, 'fixture', { init: true, workers: 2, proxyRestart: 'never' });

async function ok(args: string[]) {
  const start = Date.now();
  const r = await project().run(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { start, end: Date.now(), out: r.stdout + r.stderr };
}

interface ProxyProcs {
  pid: number;
  workers: number[];
  active: string | null;
}

async function proxyProcs(): Promise<ProxyProcs> {
  const r = await ok(['status', '--json']);
  const j = JSON.parse(r.out.trim().split('\n').at(-1)!) as { proxy: ProxyProcs };
  return j.proxy;
}

/** CPU time (utime + stime, in clock ticks) a process has used so far. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Command lines of processes running the proxy for `dir` ('' when none). */
function daemonsOf(dir: string): string {
  try {
    return execFileSync('pgrep', ['-af', `proxy --project ${dir}`], { encoding: 'utf8' }).trim();
  } catch (e) {
    if ((e as { status?: number }).status === 1) return ''; // pgrep: nothing matched
    throw e;
  }
}

/** A deploy with --keep-old: both colours run; `from` is live, `to` warm. */
async function bothColoursRunning(): Promise<{ before: ProxyProcs; from: string; to: string }> {
  await ok(['deploy', '--auto-switch', '--keep-old']);
  const before = await proxyProcs();
  const from = before.active!;
  return { before, from, to: from === 'blue' ? 'green' : 'blue' };
}

test(
  'two workers: 3,000+ keep-alive requests through 2 deploys and 5 switches, none fails, ' +
    'none reaches the old colour after a switch, both workers serve',
  budget(13_000),
  async (t) => {
    const p = project();
    const procs = await proxyProcs();
    assert.equal(procs.workers.length, 2, JSON.stringify(procs));
    assert.ok(!procs.workers.includes(procs.pid), 'the daemon controls; its workers serve');
    const before = procs.workers.map(cpuTicks);

    const totals = await assertNoFailureThroughDeploysAndSwitches(p, ok);
    const used = procs.workers.map((pid, i) => cpuTicks(pid) - before[i]!);
    t.diagnostic(
      `sent ${totals.sent}, failed ${totals.failed}, by colour ${JSON.stringify(totals.byColour)}, ` +
        `CPU ticks per worker ${used.join(' / ')}`,
    );
    // 8 keep-alive connections, handed out round-robin: both workers did real work.
    for (const [i, u] of used.entries())
      assert.ok(u >= 10, `worker ${procs.workers[i]} used only ${u} CPU ticks: it served nothing`);
    assert.deepEqual((await proxyProcs()).workers, procs.workers, 'no worker was restarted');
  },
);

test(
  'two workers: a 2 s request that starts before a switch completes on the old colour, on whichever worker has it',
  budget(6_000),
  async () => {
    const p = project();
    await ok(['deploy', '--auto-switch', '--keep-old']); // green -> blue, green kept warm
    // Several slow requests on separate connections: with round-robin both workers hold some.
    const slow = Array.from({ length: 4 }, () =>
      request(`http://127.0.0.1:${p.port}/api/slow?ms=2000`, { headersTimeout: 10_000, bodyTimeout: 10_000 }),
    );
    // Open requests are summed over the workers (bounded wait: the requests may take a moment to arrive).
    const control = proxyClient(path.join(p.dir, '.switchyard', 'proxy.sock'));
    let open = { blue: 0, green: 0 };
    await waitFor(
      '4 requests open on blue',
      async () => (open = (await control.status()).inFlight).blue === 4,
      1_500,
      20,
    ).catch(() => assert.fail(`open requests summed over the workers: ${JSON.stringify(open)}`));
    const { start, end } = await ok(['switch', 'green']);
    assert.ok(end - start < 1700, `the switch waited for the slow requests (${end - start} ms)`);
    for (const res of await Promise.all(slow)) {
      assert.equal(res.statusCode, 200, await res.body.text());
      await res.body.dump();
      assert.equal(res.headers['x-switchyard-env'], 'blue');
    }
    assert.equal((await p.get('/api/echo')).colour, 'green');

    // A deploy's drain of the old colour waits for what is open on both workers, and says how much that was.
    const slower = Array.from({ length: 4 }, () =>
      request(`http://127.0.0.1:${p.port}/api/slow?ms=3000`, { headersTimeout: 10_000, bodyTimeout: 10_000 }),
    );
    await waitFor(
      '4 requests open on green',
      async () => (open = (await control.status()).inFlight).green === 4,
      1_500,
      20,
    ).catch(() => assert.fail(`open on green: ${JSON.stringify(open)}`));
    const d = await ok(['deploy', '--auto-switch']); // green -> blue, green drained and stopped
    for (const res of await Promise.all(slower)) {
      await res.body.dump();
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-switchyard-env'], 'green');
    }
    assert.match(d.out, /open at the start: 4 request\(s\), 0 WebSocket\(s\)/, d.out);
  },
);

test('two workers: counting (the live watch) adds up both workers', budget(200), async () => {
  const p = project();
  const control = proxyClient(path.join(p.dir, '.switchyard', 'proxy.sock'));
  const active = (await control.status()).active!;
  const before = await control.stats();
  const load = startLoad({
    origin: `http://127.0.0.1:${p.port}`,
    path: '/api/echo',
    connections: 8,
    maxRequests: 400,
    maxMs: 30_000,
  });
  const totals = await load.done;
  assert.equal(totals.failed, 0);
  const stats = diffStats(await control.stats(), before);
  assert.equal(
    stats.colours[active as 'blue' | 'green'].requests,
    400,
    JSON.stringify(stats.colours[active as 'blue' | 'green'].requests),
  );
  assert.equal(
    stats.colours[active as 'blue' | 'green'].latency.reduce((a, b) => a + b, 0),
    400,
    'every request in one latency bucket',
  );
});

test(
  'two workers: a SIGKILLed worker is replaced from the saved state; switching and serving go on',
  budget(2_800),
  async () => {
    const p = project();
    const before = await proxyProcs();
    const victim = before.workers[0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor(
      'the daemon to replace the worker',
      async () => {
        const now = await proxyProcs();
        return now.workers.length === 2 && !now.workers.includes(victim);
      },
      15_000,
      100,
    );
    const now = await proxyProcs();
    assert.equal(now.pid, before.pid, 'the daemon itself kept running');
    assert.ok(now.workers.includes(before.workers[1]!), 'the other worker kept running');
    assert.ok(
      readFileSync(path.join(p.dir, '.switchyard', 'logs', 'proxy.log'), 'utf8').includes(
        `(pid ${victim}) exited (SIGKILL); starting a new one`,
      ),
    );

    // The replacement serves the same colour, and takes part in the next switch.
    const load = startLoad({
      origin: `http://127.0.0.1:${p.port}`,
      path: '/api/echo',
      connections: 8,
      maxRequests: 3_000,
      maxMs: 30_000,
    });
    await keepLoading(load, { floor: 200, extra: 0, maxMs: 10_000 });
    const to = now.active === 'blue' ? 'green' : 'blue';
    const deployed = await ok(['deploy', '--auto-switch']);
    const totals = await load.done;
    assert.equal(totals.failed, 0, JSON.stringify(totals.errors));
    assert.ok(
      assertFollowsMarks(totals, [{ start: deployed.start, end: deployed.end, colour: to }]) > 0,
      'requests after the deploy were checked',
    );
  },
);

test(
  'two workers: a hung worker (SIGSTOP) is killed and replaced; ' +
    'a change it blocked either fails whole or lands everywhere',
  budget(8_600),
  async () => {
    const p = project();
    const { before, from, to } = await bothColoursRunning();

    // The first worker computes each change and has it saved: hung, the switch fails and nothing changes.
    process.kill(before.workers[0]!, 'SIGSTOP');
    const r = await project().run(['switch', to, '--force']);
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    // Whichever call reached it first (the status before the switch, or the switch) timed out.
    assert.match(
      r.stdout + r.stderr,
      new RegExp(
        'did not answer (status|switchTo) within 3 s|' +
          'proxy worker 1 was hung \\(it did not answer \\w+ within 3 s\\) and was killed during the call',
      ),
    );
    await waitFor(
      'the hung worker to be replaced',
      async () => !(await proxyProcs()).workers.includes(before.workers[0]!),
      15_000,
      100,
    );
    const mid = await proxyProcs();
    assert.equal(mid.active, from, 'the refused switch changed nothing');
    assert.equal(mid.workers.length, 2);
    for (let i = 0; i < 20; i++) assert.equal((await p.get('/api/echo')).colour, from);

    // Another worker hung: the change is saved and applied by the first; the hung one is replaced
    // from the saved state, so every worker ends on the new colour.
    process.kill(mid.workers[1]!, 'SIGSTOP');
    await ok(['switch', to, '--force']);
    await waitFor(
      'the second hung worker to be replaced',
      async () => {
        const now = await proxyProcs();
        return now.workers.length === 2 && !now.workers.includes(mid.workers[1]!);
      },
      15_000,
      100,
    );
    for (let i = 0; i < 20; i++) assert.equal((await p.get('/api/echo')).colour, to, `request ${i} after the switch`);
  },
);

test(
  'two workers: a change whose save fails changes nothing anywhere: ' +
    'no worker applies it, state files unchanged, traffic stays',
  budget(1_800),
  async () => {
    const p = project();
    const { before, from, to } = await bothColoursRunning();
    const stateBefore = await p.file('.switchyard/state.json');
    const envBefore = await p.file('.current-env');
    // The daemon saves by renaming a temp file over proxy.json: a non-empty directory there makes
    // that fail (even for root).
    const saved = path.join(p.dir, '.switchyard', 'proxy.json');
    const snapshot = readFileSync(saved, 'utf8');
    rmSync(saved);
    mkdirSync(path.join(saved, 'in-the-way'), { recursive: true });
    try {
      const r = await p.run(['switch', to, '--force']);
      assert.notEqual(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, new RegExp(`${from} is still serving`));
      assert.match(
        r.stdout + r.stderr,
        new RegExp(
          'the proxy could not save its state in \\S+\\.switchyard: ' +
            "EISDIR: illegal operation on a directory, rename .*proxy\\.json'; it kept routing as before",
        ),
      );
      const now = await proxyProcs();
      assert.equal(now.active, from, 'no worker applied the unsaved switch');
      assert.deepEqual(now.workers, before.workers, 'nothing was applied, so no worker had to be replaced');
      for (let i = 0; i < 20; i++) assert.equal((await p.get('/api/echo')).colour, from, `request ${i}`);
      assert.equal(await p.file('.switchyard/state.json'), stateBefore);
      assert.equal(await p.file('.current-env'), envBefore);
    } finally {
      rmSync(saved, { recursive: true, force: true });
      writeFileSync(saved, snapshot, { mode: 0o600 });
    }
    await ok(['switch', to, '--force']);
    for (let i = 0; i < 20; i++)
      assert.equal((await p.get('/api/echo')).colour, to, `request ${i} after the repaired switch`);
  },
);

test(
  'two workers: a SIGKILLed daemon takes its workers with it; the next command starts a new one on the same colour',
  budget(3_100),
  async () => {
    const p = project();
    const before = await proxyProcs();
    process.kill(before.pid, 'SIGKILL');
    // Idle workers close at once; the grace for open requests is 10 s.
    await waitFor('the workers to exit', () => before.workers.every((w) => !pidAlive(w)), 15_000, 50);
    // The public port is free again: nothing orphaned holds it.
    await new Promise<void>((resolve, reject) => {
      const s = net
        .createServer()
        .once('error', reject)
        .listen(p.port, '127.0.0.1', () => s.close(() => resolve()));
    });
    const st = await ok(['status']);
    assert.match(st.out, /the proxy was not running: restarted it/);
    const after = await proxyProcs();
    assert.notEqual(after.pid, before.pid);
    assert.equal(after.workers.length, 2);
    assert.equal(after.active, before.active);
    assert.equal((await p.get('/api/echo')).colour, before.active);
  },
);

test(
  'two workers: changing proxy.workers is reported, not applied behind the running proxy',
  budget(1_200),
  async () => {
    const p = project();
    const yml = path.join(p.dir, 'switchyard.yml');
    writeFileSync(yml, readFileSync(yml, 'utf8').replace('workers: 2', 'workers: 3'));
    try {
      const note = new RegExp(
        'proxy\\.workers is 3 but the running proxy has 2 worker processes: ' +
          'the new number takes effect when the proxy restarts',
      );
      assert.match((await ok(['status'])).out, note);
      // A command that uses the proxy says so too, and goes ahead with the running one.
      assert.match((await ok(['switch', (await proxyProcs()).active!])).out, note);
      assert.equal((await proxyProcs()).workers.length, 2);
    } finally {
      writeFileSync(yml, readFileSync(yml, 'utf8').replace('workers: 3', 'workers: 2'));
    }
  },
);

test(
  'two workers: the port in use fails init with PORT_IN_USE and leaves no process behind',
  budget(1_300),
  async () => {
    const q = await makeProject('fixture', { workers: 2 });
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(q.port, '127.0.0.1', () => r()));
    try {
      const r = await q.run(['init']);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stdout + r.stderr, /cannot listen on 127\.0\.0\.1:\d+: the port is already in use/);
      assert.equal(daemonsOf(q.dir), '', 'no daemon or worker left running');
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
      await q.cleanup();
    }
  },
);
