/**
 * The supervisor's pid file (.switchyard/run/supervisor.pid: its pid and kernel start time) and how
 * a command makes sure a supervisor runs: one per project, started detached when none is alive. The
 * supervisor keeps the process runtime's services and the proxy running (any runtime); it is either
 * `switchyard supervise` (started by commands) or `switchyard up --foreground` (a service manager's).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ProjectPaths } from '../state/paths.js';
import { liveness, readStartTicks } from '../util/procinfo.js';
import { selfCommand } from '../util/self.js';
import { sleep } from '../util/sleep.js';

/** The pid file's record: `PID START_TICKS` (the start time tells a reused pid from ours). */
async function readRecord(paths: ProjectPaths): Promise<{ pid: number; ticks?: string } | undefined> {
  const [pidText, ticks] = (await fs.readFile(paths.supervisorPid, 'utf8').catch(() => '')).trim().split(/\s+/);
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 1 ? { pid, ...(ticks ? { ticks } : {}) } : undefined;
}

/** The live supervisor's pid: the pid file's process, still running, started when the file says. */
export async function supervisorPid(paths: ProjectPaths): Promise<number | undefined> {
  const r = await readRecord(paths);
  // Without a start time (a file written by an older switchyard) a live pid is trusted.
  return r && (await liveness(r.pid, r.ticks)) === 'running' ? r.pid : undefined;
}

/** Claims the pid file for this process; false when another live supervisor holds it. */
export async function claimPidFile(paths: ProjectPaths): Promise<boolean> {
  await fs.mkdir(path.dirname(paths.supervisorPid), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const ticks = await readStartTicks(process.pid);
      await fs.writeFile(paths.supervisorPid, `${process.pid}${ticks ? ` ${ticks}` : ''}\n`, {
        flag: 'wx',
        mode: 0o600,
      });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = await supervisorPid(paths);
      if (owner !== undefined && owner !== process.pid) return false;
      await fs.rm(paths.supervisorPid, { force: true });
    }
  }
  return false;
}

export async function releasePidFile(paths: ProjectPaths): Promise<void> {
  if ((await readRecord(paths))?.pid === process.pid) await fs.rm(paths.supervisorPid, { force: true });
}

const START_WAIT_MS = 5_000;

/**
 * Starts the project's supervisor unless one runs; returns its pid. `configFile`: the config it
 * reads to keep the proxy (the project's switchyard.yml when absent).
 */
export async function ensureSupervisor(paths: ProjectPaths, configFile?: string): Promise<number> {
  const running = await supervisorPid(paths);
  if (running !== undefined) return running;
  await fs.mkdir(path.dirname(paths.supervisorLog), { recursive: true, mode: 0o700 });
  const log = await fs.open(paths.supervisorLog, 'a', 0o600);
  try {
    const cmd = selfCommand(['supervise', '--project', paths.root, ...(configFile ? ['--config', configFile] : [])]);
    const child = spawn(cmd.file, cmd.args, { cwd: paths.root, stdio: ['ignore', log.fd, log.fd], detached: true });
    child.unref();
  } finally {
    await log.close();
  }
  const deadline = performance.now() + START_WAIT_MS;
  while (performance.now() < deadline) {
    const pid = await supervisorPid(paths);
    if (pid !== undefined) return pid;
    await sleep(20);
  }
  throw new Error(`the supervisor did not start within ${START_WAIT_MS} ms; see ${paths.supervisorLog}`);
}

/** Stops the project's supervisor (down): SIGTERM, then waits for it to go. The services keep running. */
export async function stopSupervisor(paths: ProjectPaths): Promise<boolean> {
  const pid = await supervisorPid(paths);
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = performance.now() + START_WAIT_MS;
  // Not pidAlive: an exited supervisor stays a zombie until init reaps it, which may take seconds.
  while ((await liveness(pid, undefined)) === 'running' && performance.now() < deadline) await sleep(20);
  return true;
}
