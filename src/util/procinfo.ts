/**
 * What the kernel says about a pid. Pids are reused, so a run file's pid alone proves nothing:
 * we also compare the process start time (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot), recorded when we spawned it. Where /proc is missing (not Linux) we fall back to the pid.
 */
import fs from 'node:fs/promises';
import { groupExists, pidAlive } from './pid.js';

interface Stat {
  state: string;
  startTicks: string;
}

async function readStat(pid: number): Promise<Stat | undefined> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 22 is rest[19].
  const state = rest[0];
  const startTicks = rest[19];
  return state && startTicks ? { state, startTicks } : undefined;
}

export async function readStartTicks(pid: number): Promise<string | undefined> {
  return (await readStat(pid))?.startTicks;
}

export type Liveness = 'running' | 'gone' | 'reused';

/** 'running' only when the pid is alive, not a zombie, and (where known) started when ours did. */
export async function liveness(pid: number, startTicks: string | undefined): Promise<Liveness> {
  if (!Number.isInteger(pid) || pid <= 1) return 'gone';
  const stat = await readStat(pid);
  if (!stat) return pidAlive(pid) && startTicks === undefined ? 'running' : 'gone';
  if (startTicks !== undefined && stat.startTicks !== startTicks) return 'reused';
  return stat.state === 'Z' || stat.state === 'X' ? 'gone' : 'running';
}

/**
 * Whether any live process is still in the group (the service may have left children behind).
 * Zombies do not count: an orphan is reaped by pid 1, which in some containers takes seconds,
 * and kill(-pgid, 0) still succeeds on a group of zombies.
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  if (!groupExists(pgid)) return false;
  let entries: string[];
  try {
    entries = await fs.readdir('/proc');
  } catch {
    return true; // no /proc: trust kill(0)
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const text = await fs.readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state), rest[2] field 5 (process group id).
    if (rest[2] === String(pgid) && rest[0] !== 'Z' && rest[0] !== 'X') return true;
  }
  return false;
}

/** Signals the whole process group; false when it no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
