/**
 * `switchyard demo`, the README's first command, as a user runs it: init blue, deploy 2.0.0 to green
 * with auto-switch under a bounded background load through the built-in proxy, roll back, down.
 * It must exit 0, print the real steps and the load's totals (failed: 0), and leave nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../helpers/project.ts';
import { budget } from '../helpers/budget.ts';

const MAX_REQUESTS = 10_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Every pid the demo project's pid files name, read while it runs (they are gone with the folder afterwards). */
async function readPids(
  dir: string,
  into: { proxy: Set<number>; blue: Set<number>; green: Set<number> },
): Promise<void> {
  const run = path.join(dir, '.switchyard', 'run');
  const proxy = Number((await fs.readFile(path.join(run, 'proxy.pid'), 'utf8').catch(() => '')).trim());
  if (Number.isInteger(proxy) && proxy > 1) into.proxy.add(proxy);
  for (const c of ['blue', 'green'] as const) {
    const text = await fs.readFile(path.join(run, `${c}.json`), 'utf8').catch(() => '');
    try {
      const j = JSON.parse(text) as { services?: Record<string, { pid?: number }> };
      for (const s of Object.values(j.services ?? {})) if (Number.isInteger(s.pid) && s.pid! > 1) into[c].add(s.pid!);
    } catch {
      /* absent, or caught mid-write: the next poll reads it */
    }
  }
}

test(
  'demo: init, deploy under load, rollback and down; failed: 0, every step printed, nothing left running',
  budget(5_400),
  async () => {
    const child = spawn(process.execPath, [CLI, 'demo', '--requests', String(MAX_REQUESTS)], {
      cwd: os.tmpdir(),
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    let exited = false;
    const closed = new Promise<number | null>((resolve) =>
      child.on('close', (code) => ((exited = true), resolve(code))),
    );

    const pids = { proxy: new Set<number>(), blue: new Set<number>(), green: new Set<number>() };
    let dir: string | undefined;
    let port: number | undefined;
    while (!exited) {
      if (!dir) {
        const m = /demo project: (\S+) \(proxy on 127\.0\.0\.1:(\d+)\)/.exec(stdout);
        if (m) [dir, port] = [m[1]!, Number(m[2])];
      }
      if (dir) await readPids(dir, pids);
      await new Promise((r) => setTimeout(r, 50));
    }
    const code = await closed;
    clearTimeout(killer);
    const out = stdout + stderr;
    let passed = false;
    try {
      assert.equal(code, 0, out);
      assert.ok(dir && port, `the demo names its temp folder and port:\n${out}`);
      assert.ok(dir.startsWith(os.tmpdir()), dir);

      // init
      assert.match(stdout, /== switchyard init ==/);
      assert.match(stdout, /\[6\/6\] Activating blue\.\.\. ✓/);
      assert.match(stdout, /✓ Initialised: blue is live on 127\.0\.0\.1:\d+/);
      // deploy: every one of the guide's 8 steps, in order, none failed
      assert.match(stdout, /== switchyard deploy --auto-switch \(version 2\.0\.0\) ==/);
      let from = stdout.indexOf('== switchyard deploy');
      for (let i = 1; i <= 8; i++) {
        const m = new RegExp(`\\[${i}/8\\] [^\\n]*\\.\\.\\. ([✓✗–])`).exec(stdout.slice(from));
        assert.ok(m, `deploy step [${i}/8] printed`);
        assert.notEqual(m[1], '✗', `deploy step [${i}/8] did not fail`);
        from += m.index + m[0].length;
      }
      assert.match(stdout, /\[7\/8\] Switching traffic to green\.\.\. ✓/);
      assert.match(stdout, /\[8\/8\] Stopping blue environment\.\.\. ✓/);
      assert.match(stdout, /✓ Deployment complete: green is live/);
      // rollback
      assert.match(stdout, /== switchyard rollback --force ==/);
      assert.match(stdout, /\[1\/4\] Determining rollback target\.\.\. ✓[^\n]*green -> blue/);
      assert.match(stdout, /\[3\/4\] Switching traffic to blue\.\.\. ✓/);
      assert.match(stdout, /✓ Rollback complete: blue is live/);
      assert.ok(stdout.indexOf('Deployment complete') < stdout.indexOf('Rollback complete'), 'deploy, then rollback');
      // the load's totals
      const load = /load: (\d+) requests sent, (\d+) ok, failed: (\d+) {2}\(by colour: ([^)]*)\)/.exec(stdout);
      assert.ok(load, `load totals printed:\n${stdout}`);
      const [sent, ok, failed] = [Number(load[1]), Number(load[2]), Number(load[3])];
      assert.equal(failed, 0, out);
      assert.equal(ok, sent);
      assert.ok(sent >= 200 && sent <= MAX_REQUESTS, `a sizeable, bounded load: ${sent} requests`);
      const byColour = Object.fromEntries(
        load[4]!
          .split(', ')
          .map((kv) => kv.split(' '))
          .map(([c, n]) => [c, Number(n)]),
      );
      assert.ok(
        byColour.blue > 0 && byColour.green > 0,
        `the load saw both colours (it ran across the switches): ${load[4]}`,
      );
      assert.equal(byColour.blue + byColour.green, sent, 'every response named its colour');
      assert.doesNotMatch(out, /failed requests:/);
      // down
      const downAt = stdout.indexOf('== switchyard down ==');
      assert.ok(downAt > stdout.indexOf('load:'), 'down runs last');
      const tail = stdout.slice(downAt);
      for (const line of ['stopped the proxy', 'stopped blue', 'stopped green'])
        assert.match(tail, new RegExp(`^${line}$`, 'm'));

      // Nothing left behind: the folder is gone, and so is every process its pid files ever named.
      assert.equal(
        await fs.stat(dir).then(
          () => true,
          () => false,
        ),
        false,
        `${dir} removed`,
      );
      assert.equal(pids.proxy.size, 1, `saw the proxy's pid: ${[...pids.proxy]}`);
      assert.ok(pids.blue.size >= 4, `saw blue's pids (init and rollback, 2 services each): ${[...pids.blue]}`);
      assert.ok(pids.green.size >= 2, `saw green's pids: ${[...pids.green]}`);
      const leftovers: string[] = [];
      // Give a process that was signalled a moment to be reaped by init.
      const deadline = Date.now() + 3_000;
      do {
        leftovers.length = 0;
        for (const pid of pids.proxy) if (alive(pid)) leftovers.push(`proxy ${pid}`);
        for (const c of ['blue', 'green'] as const)
          for (const pid of pids[c])
            if (alive(pid) || alive(-pid)) leftovers.push(`${c} ${pid} (or its process group)`);
        if (leftovers.length) await new Promise((r) => setTimeout(r, 100));
      } while (leftovers.length && Date.now() < deadline);
      assert.deepEqual(leftovers, [], 'no process of the demo outlives it');
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(port!, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(false)));
        s.once('error', () => resolve(true));
      });
      assert.ok(refused, `nothing listens on the demo's proxy port ${port} any more`);
      passed = true;
    } finally {
      if (!passed) {
        // If an assertion failed with processes left, do not leak them into other engineers' runs.
        const kill = (pid: number, sig: NodeJS.Signals) => {
          try {
            process.kill(pid, sig);
          } catch {
            /* already gone */
          }
        };
        // Only after a failure, and only what the demo started and is still there.
        for (const pid of pids.proxy) if (alive(pid)) kill(pid, 'SIGTERM');
        for (const c of ['blue', 'green'] as const) for (const pid of pids[c]) if (alive(-pid)) kill(-pid, 'SIGKILL');
        if (dir) await fs.rm(dir, { recursive: true, force: true });
      }
    }
  },
);
