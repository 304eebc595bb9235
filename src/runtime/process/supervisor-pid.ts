/**
 * The supervisor's pid file (.switchyard/run/supervisor.pid, the pid alone, like the proxy's) and
 * how a command makes sure a supervisor runs: one per project, started detached when none is alive.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ProjectPaths } from '../../state/paths.js';
import { pidAlive } from '../../util/pid.js';
import { liveness } from '../../util/procinfo.js';
import { selfCommand } from '../../util/self.js';
import { sleep } from '../../util/sleep.js';

/** The live supervisor's pid: a process with that pid whose command line is this project's supervisor. */
export async function supervisorPid(paths: ProjectPaths): Promise<number | undefined> {
  const pid = Number((await fs.readFile(paths.supervisorPid, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 1 || !pidAlive(pid)) return undefined;
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  const args = cmdline.split('\0');
  return args.includes('supervise') && args.includes(paths.root) ? pid : undefined;
}

/** Claims the pid file for this process; false when another live supervisor holds it. */
export async function claimPidFile(paths: ProjectPaths): Promise<boolean> {
  await fs.mkdir(path.dirname(paths.supervisorPid), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(paths.supervisorPid, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
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
  const pid = Number((await fs.readFile(paths.supervisorPid, 'utf8').catch(() => '')).trim());
  if (pid === process.pid) await fs.rm(paths.supervisorPid, { force: true });
}

const START_WAIT_MS = 5_000;

/** Starts the project's supervisor unless one runs; returns its pid. */
export async function ensureSupervisor(paths: ProjectPaths): Promise<number> {
  const running = await supervisorPid(paths);
  if (running !== undefined) return running;
  await fs.mkdir(path.dirname(paths.supervisorLog), { recursive: true, mode: 0o700 });
  const log = await fs.open(paths.supervisorLog, 'a', 0o600);
  try {
    const cmd = selfCommand(['supervise', '--project', paths.root]);
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
