/**
 * Helpers for the fault matrix (test/e2e/faults-*.test.ts): a bounded keep-alive load through the
 * public proxy port during a fault, small tmpfs mounts for full disks, and readers for status and
 * history. Everything is bounded; nothing here skips a test when a component is missing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startLoad, type LoadTotals, type RunningLoad } from '../../src/load/load.ts';
import type { StatusReport } from '../../src/run/status.ts';
import type { Project } from './project.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it is true, at most `ms`; fails the test naming `what` otherwise. */
export async function waitFor(
  what: string,
  fn: () => Promise<boolean> | boolean,
  ms = 15_000,
  every = 50,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await fn()) return;
    await sleep(every);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

/** A bounded keep-alive GET load through the project's public port (127.0.0.1 only). */
export function loadOn(
  port: number,
  opts: { path?: string; connections?: number; maxRequests?: number; maxMs?: number } = {},
): RunningLoad {
  return startLoad({
    origin: `http://127.0.0.1:${port}`,
    path: opts.path ?? '/api/echo',
    connections: opts.connections ?? 4,
    maxRequests: opts.maxRequests ?? 50_000,
    maxMs: opts.maxMs ?? 60_000,
  });
}

/** Waits until the load sent at least `n` requests (bounded), so the fault happens under traffic. */
export async function warmUp(load: RunningLoad, n = 100): Promise<void> {
  await waitFor(`${n} requests of load`, () => load.sent >= n, 10_000, 10);
}

/** Not one request failed, and every answer came from `colour`. */
export function assertServedBy(totals: LoadTotals, colour: string, what: string): void {
  assert.ok(totals.sent > 0, `${what}: the load sent nothing`);
  assert.equal(
    totals.failed,
    0,
    `${what}: ${totals.failed} of ${totals.sent} requests failed: ${JSON.stringify(totals.errors)}`,
  );
  assert.deepEqual(Object.keys(totals.byColour), [colour], `${what}: answered by ${JSON.stringify(totals.byColour)}`);
}

/** `status --json`: the exit code and the final report. */
export async function statusJson(p: Project): Promise<{ code: number | null; report: StatusReport; out: string }> {
  const r = await p.run(['status', '--json'], { timeoutMs: 30_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '{}';
  let report: StatusReport;
  try {
    report = JSON.parse(last) as StatusReport;
  } catch {
    report = {} as StatusReport;
  }
  return { code: r.code, report, out: r.stdout + r.stderr };
}

/** The project's history records, oldest first: the project helper's reader. */
export { historyOf as history } from './project.ts';

/** Every file under `dir` (relative paths), recursively; sockets included. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
}

/** Temp files an interrupted atomic write could leave (`.name.pid.rand.tmp`, `.x.partial`). */
export async function leftovers(dir: string): Promise<string[]> {
  return (await filesUnder(dir)).filter((f) => /\.tmp$|\.partial$/.test(f));
}

/** Mounts a tmpfs of `size` (e.g. "256k") on `dir` (created). Needs root; throws otherwise. */
export async function mountTmpfs(dir: string, size: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], {
    stdio: 'pipe',
    timeout: 10_000,
  });
}

export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe', timeout: 10_000 });
  } catch {
    // Busy (a process still has a file open): detach it now, it goes when the last user does.
    execFileSync('umount', ['-l', dir], { stdio: 'pipe', timeout: 10_000 });
  }
}

/** Free bytes on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Fills the filesystem holding `dir` with one file until it reports ENOSPC, then gives back
 * `leave` bytes. Returns the filler's path (delete it to free the space).
 */
export async function fillDisk(dir: string, leave = 0): Promise<string> {
  const file = path.join(dir, `.filler-${process.pid}`);
  const fh = await fs.open(file, 'a');
  try {
    for (const chunk of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const buf = Buffer.alloc(chunk, 0x61);
      for (;;) {
        try {
          await fh.write(buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw e;
        }
      }
    }
  } finally {
    await fh.close();
  }
  if (leave > 0) await fs.truncate(file, Math.max(0, (await fs.stat(file)).size - leave));
  return file;
}
