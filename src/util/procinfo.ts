/**
 * What the kernel says about a pid. Pids are reused, so a run file's pid alone proves nothing:
 * we also compare the process start time (field 22 of /proc/<pid>/stat, in clock ticks since
 * boot), recorded when we spawned it. Where /proc is missing (not Linux) we fall back to the pid.
 */
import { readdirSync, readFileSync } from 'node:fs';
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

/** The state letter of a process (R, S, D, T, Z, ...), undefined when it is gone. */
export async function processState(pid: number): Promise<string | undefined> {
  return (await readStat(pid))?.state;
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
  const states = await groupStates(pgid);
  return states === undefined || states.some((st) => st !== 'Z' && st !== 'X');
}

interface ProcEntry {
  pid: number;
  /** Field 3: R, S, D, T, Z, ... */
  state: string;
  /** Field 4. */
  ppid: number;
  /** Field 5: the process group. */
  pgrp: number;
}

/**
 * Every process, from /proc/<pid>/stat; undefined without /proc. Read synchronously: /proc answers
 * from memory, and a scan through the thread pool was seen to take 100-200 ms on a busy machine,
 * which would lengthen a log rotation's pause of the writer.
 */
function scanProc(): ProcEntry[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const out: ProcEntry[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let text = '';
    try {
      text = readFileSync(`/proc/${e}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(e), state: rest[0] ?? '', ppid: Number(rest[1]), pgrp: Number(rest[2]) });
  }
  return out;
}

/** The state of every process in the group; undefined without /proc. */
async function groupStates(pgid: number): Promise<string[] | undefined> {
  return scanProc()
    ?.filter((p) => p.pgrp === pgid)
    .map((p) => p.state);
}

/** The direct children of a process (nginx's workers, the built-in proxy's), sorted; [] without /proc. */
export function childrenOf(pid: number): number[] {
  return (scanProc() ?? [])
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid)
    .sort((a, b) => a - b);
}

/** Whether every live process of the group is stopped (SIGSTOP took effect: none is inside a write). */
export async function groupStopped(pgid: number): Promise<boolean> {
  const states = await groupStates(pgid);
  return states?.every((st) => st === 'T' || st === 't' || st === 'Z' || st === 'X') === true;
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
