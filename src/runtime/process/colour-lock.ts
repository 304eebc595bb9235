/**
 * One writer at a time for a colour's processes and run file: start and stop (the CLI) and a
 * restart (the supervisor) each hold `.switchyard/run/<colour>.lock` while they change them, so
 * the supervisor never starts again a process that stop() is taking down on purpose. A lock whose
 * owner process is gone is taken over. Re-entrant inside one process (a failed start stops what it
 * started).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Colour } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import type { ProjectPaths } from '../../state/paths.js';
import { liveness, readStartTicks } from '../../util/procinfo.js';
import { sleep } from '../../util/sleep.js';

const held = new Map<string, number>();
const WAIT_POLL_MS = 20;

const lockFile = (paths: ProjectPaths, colour: Colour) => `${paths.runFile(colour)}.lock`;

/** A lock file still empty or half-written this long after it was made: its owner died writing it. */
const TORN_AFTER_MS = 2_000;

async function ownerGone(file: string): Promise<boolean> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return false; // released meanwhile: the next attempt takes it
  }
  try {
    const o = JSON.parse(text) as { pid?: number; startTicks?: string };
    return typeof o.pid !== 'number' || (await liveness(o.pid, o.startTicks)) !== 'running';
  } catch {
    // Being written right now by its owner (created, not yet filled), or torn by an owner killed then.
    const st = await fs.stat(file).catch(() => undefined);
    return st !== undefined && Date.now() - st.mtimeMs > TORN_AFTER_MS;
  }
}

async function tryTake(file: string): Promise<boolean> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const me = JSON.stringify({ pid: process.pid, startTicks: await readStartTicks(process.pid) });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, me, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await ownerGone(file))) return false;
      await fs.rm(file, { force: true });
    }
  }
  return false;
}

/**
 * Runs `fn` holding the colour's lock. `wait`: how long to wait for it (ms); 0 = do not wait,
 * and return undefined when another process holds it.
 */
export async function withColourLock<T>(
  paths: ProjectPaths,
  colour: Colour,
  wait: number,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  const file = lockFile(paths, colour);
  const depth = held.get(file) ?? 0;
  if (depth === 0) {
    const deadline = performance.now() + wait;
    while (!(await tryTake(file))) {
      if (performance.now() >= deadline) {
        if (wait === 0) return undefined;
        throw new SwitchyardError('LOCKED', `another process is changing the ${colour} processes (${file})`, {
          hint: 'wait a moment and try again; if it stays, the file names the process that holds it',
        });
      }
      await sleep(WAIT_POLL_MS);
    }
  }
  held.set(file, depth + 1);
  try {
    return await fn();
  } finally {
    held.set(file, held.get(file)! - 1);
    if (held.get(file) === 0) {
      held.delete(file);
      await fs.rm(file, { force: true });
    }
  }
}
