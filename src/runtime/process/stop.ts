/**
 * Stopping one service process: SIGTERM to its process group, poll, SIGKILL after stopTimeout.
 * A pid whose start time no longer matches the run file is someone else's: never signalled.
 */
import { groupAlive, liveness, signalGroup } from '../../util/procinfo.js';
import type { ServiceRun } from '../types.js';
import { sleep } from '../../util/sleep.js';

/**
 * How often we look whether the processes are gone; cheap (a /proc read and a kill 0). The first
 * looks come sooner (5, 10, 20 ms): most services exit within a few tens of milliseconds of
 * SIGTERM, and a rollback's wall time waits on this.
 */
export const STOP_POLL_MS = 50;
const FIRST_POLL_MS = 5;
/** After SIGKILL the kernel needs a moment; if the group survives this long, report it. */
export const KILL_WAIT_MS = 5_000;

export type StopOutcome = 'not-running' | 'reused' | 'terminated' | 'killed' | 'stuck';

async function gone(run: ServiceRun): Promise<boolean> {
  const l = await liveness(run.pid, run.startTicks);
  // A reused leader pid means ours exited and our whole group with it: the kernel does not hand
  // out a number still used as a process group id. So a group by that number is not ours.
  if (l === 'reused') return true;
  return l === 'gone' && !(await groupAlive(run.pid));
}

async function waitGone(run: ServiceRun, ms: number, signal?: AbortSignal): Promise<boolean> {
  // Monotonic: a wall clock set back by NTP or by hand must not stretch the grace period.
  const deadline = performance.now() + ms;
  for (let wait = FIRST_POLL_MS; ; wait = Math.min(STOP_POLL_MS, wait * 2)) {
    if (await gone(run)) return true;
    if (performance.now() >= deadline || signal?.aborted) return false;
    await sleep(Math.min(wait, Math.max(1, deadline - performance.now())));
  }
}

export async function stopProcess(run: ServiceRun, stopTimeoutMs: number, signal?: AbortSignal): Promise<StopOutcome> {
  const l = await liveness(run.pid, run.startTicks);
  if (l === 'reused') return 'reused';
  if (l === 'gone' && !(await groupAlive(run.pid))) return 'not-running';
  signalGroup(run.pid, 'SIGTERM');
  // An aborted stop (second Ctrl-C) skips the grace period instead of leaving processes behind.
  if (await waitGone(run, stopTimeoutMs, signal)) return 'terminated';
  if ((await liveness(run.pid, run.startTicks)) === 'reused') return 'terminated';
  signalGroup(run.pid, 'SIGKILL');
  return (await waitGone(run, KILL_WAIT_MS)) ? 'killed' : 'stuck';
}
