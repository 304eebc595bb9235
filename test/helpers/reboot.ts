/**
 * A reboot, as far as a project can tell: every one of its processes SIGKILLed at once (the
 * supervisor, the built-in proxy daemon or nginx's master and workers, each colour's process
 * groups) and, for the Docker runtime, its containers killed. Then polls, bounded, until every
 * killed process is gone (or an unreaped zombie) rather than sleeping a guess.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childrenOf, liveness } from '../../src/util/procinfo.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pid a pid file names first (the supervisor's also holds its start time). */
export function pidIn(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

export async function reboot(projectDir: string, opts: { dockerApp?: string } = {}): Promise<void> {
  const sy = path.join(projectDir, '.switchyard');
  const pids: number[] = [];
  for (const f of ['run/supervisor.pid', 'run/proxy.pid', 'nginx/nginx.pid']) {
    const pid = pidIn(path.join(sy, f));
    if (pid === undefined) continue;
    pids.push(pid);
    if (f.startsWith('nginx')) pids.push(...childrenOf(pid));
  }
  for (const c of ['blue', 'green']) {
    try {
      const run = JSON.parse(fs.readFileSync(path.join(sy, 'run', `${c}.json`), 'utf8'));
      pids.push(...Object.values(run.services as Record<string, { pid: number }>).map((s) => s.pid));
    } catch {
      /* not started */
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (opts.dockerApp) {
    const ids = execFileSync('docker', ['ps', '-q', '--filter', `label=switchyard.app=${opts.dockerApp}`], {
      encoding: 'utf8',
      timeout: 60_000,
    })
      .split('\n')
      .filter(Boolean);
    if (ids.length) execFileSync('docker', ['kill', ...ids], { stdio: 'pipe', timeout: 60_000 });
  }
  const deadline = performance.now() + 5_000;
  const running = async () => (await Promise.all(pids.map((pid) => liveness(pid, undefined)))).includes('running');
  while ((await running()) && performance.now() < deadline) await sleep(20);
  assert.equal(await running(), false, 'every process of the project is gone');
}

/** Polls a GET every 10 ms (bounded) and keeps each answer's status (0: no connection). */
export function pollStatuses(get: () => Promise<number>, maxMs: number): { stop: () => Promise<number[]> } {
  const statuses: number[] = [];
  let stopping = false;
  const t0 = performance.now();
  const done = (async () => {
    while (!stopping && performance.now() - t0 < maxMs) {
      statuses.push(await get().catch(() => 0));
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await done;
      return statuses;
    },
  };
}

/** The statuses with repeats folded: [0, 0, 503, 503, 200] -> "0 503 200". */
export const runs = (xs: number[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x).join(' ');
