/**
 * Spawning one service process, the same way for a start and for the supervisor's restart: its own
 * process group (detached, so stop() reaches its children and the spawner's exit does not kill
 * it), stdout and stderr appended to the service's log after a header line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readStartTicks } from '../../util/procinfo.js';
import { openLog } from './logs.js';

/** How a service process is started: what the supervisor needs to start it again exactly so. */
export interface SpawnSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface Spawned {
  child: ChildProcess;
  /**
   * Set when the process ended: listened for from the moment it was spawned, so a process that
   * dies at once is never missed by a listener added after the awaits below. `onExit` is called too.
   */
  exit?: { at: number; code: number | null; signal: NodeJS.Signals | null };
  onExit?: (e: NonNullable<Spawned['exit']>) => void;
  pid: number;
  startTicks?: string;
  /** Where this process's own output starts in the log (after the header). */
  logOffset: number;
}

function spawned(child: ChildProcess): Promise<Error | undefined> {
  return new Promise((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (e) => resolve(e));
  });
}

/** Spawns; resolves once the process exists, or rejects with why it could not be started. */
export async function spawnService(spec: SpawnSpec, logFile: string, header: string): Promise<Spawned> {
  const { fh, offset } = await openLog(logFile);
  try {
    await fh.write(header);
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', fh.fd, fh.fd],
      detached: true,
    });
    const out: Spawned = { child, pid: 0, logOffset: offset + Buffer.byteLength(header) };
    child.once('exit', (code, signal) => {
      out.exit = { at: Date.now(), code, signal };
      out.onExit?.(out.exit);
    });
    const error = await spawned(child);
    if (error || child.pid === undefined) throw error ?? new Error('no pid');
    out.pid = child.pid;
    const startTicks = await readStartTicks(child.pid);
    if (startTicks) out.startTicks = startTicks;
    return out;
  } finally {
    await fh.close();
  }
}
