/**
 * One deploy/rollback/switch at a time (I5). The lock is a file created with O_EXCL holding its
 * owner's pid, host and start time; a lock whose owner died is reported as stale and is only
 * removed when the user asks (--force-unlock), never silently.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SwitchyardError } from '../errors.js';
import { pidAlive } from '../util/pid.js';
import type { ProjectPaths } from './paths.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  time: string;
}

export interface LockView extends LockInfo {
  /** false when the owner is on this host and its pid is gone. */
  alive: boolean;
}

export async function readLock(paths: ProjectPaths): Promise<LockView | undefined> {
  let text: string;
  try {
    text = await fs.readFile(paths.lock, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let info: LockInfo;
  try {
    info = JSON.parse(text) as LockInfo;
  } catch {
    // Torn write by a killed owner: treat as stale, with unknown owner.
    return { pid: 0, host: os.hostname(), command: 'unknown', time: 'unknown', alive: false };
  }
  const alive = info.host !== os.hostname() || pidAlive(info.pid);
  return { ...info, alive };
}

export function describeLock(l: LockView): string {
  const who = `${l.command} (pid ${l.pid} on ${l.host}, since ${l.time})`;
  return l.alive ? `locked by ${who}` : `stale lock left by ${who}: that process is gone`;
}

export interface Lock {
  release(): Promise<void>;
}

export async function acquireLock(paths: ProjectPaths, command: string, opts: { forceUnlock?: boolean } = {}): Promise<Lock> {
  await fs.mkdir(path.dirname(paths.lock), { recursive: true, mode: 0o700 });
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), command, time: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await fs.open(paths.lock, 'wx', 0o600);
      await fh.writeFile(JSON.stringify(mine));
      await fh.close();
      return {
        release: async () => {
          const now = await readLock(paths).catch(() => undefined);
          if (now && now.pid === mine.pid && now.host === mine.host) await fs.rm(paths.lock, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const held = await readLock(paths);
    if (!held) continue; // released between our open and read: try again
    if (held.alive) {
      throw new SwitchyardError('LOCKED', `another switchyard command holds the lock: ${held.command} (pid ${held.pid} on ${held.host}, since ${held.time})`, {
        hint: 'wait for it to finish; it releases the lock when done',
      });
    }
    if (!opts.forceUnlock) {
      throw new SwitchyardError('LOCK_STALE', describeLock(held), {
        hint: 'check `switchyard status`, then run the command again with --force-unlock to clear it',
      });
    }
    await fs.rm(paths.lock, { force: true });
  }
  throw new SwitchyardError('LOCKED', 'could not take the lock (another command raced for it)', { hint: 'run the command again' });
}
