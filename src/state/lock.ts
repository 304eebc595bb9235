/**
 * One deploy/rollback/switch at a time (I5). The lock is a file created with O_EXCL holding its
 * owner's pid, host and start time; a lock whose owner died is reported as stale and is only
 * removed when the user asks (--force-unlock), never silently.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { SwitchyardError } from '../errors.js';
import { liveness } from '../util/procinfo.js';
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
  // A zombie counts as gone: a killed owner whose parent never reaps it (pid 1 in some containers) does nothing more.
  const alive = info.host !== os.hostname() || (await liveness(info.pid, undefined)) === 'running';
  return { ...info, alive };
}

export function describeLock(l: LockView): string {
  const who = `${l.command} (pid ${l.pid} on ${l.host}, since ${l.time})`;
  return l.alive ? `locked by ${who}` : `stale lock left by ${who}: that process is gone`;
}

export interface Lock {
  release(): Promise<void>;
}

/**
 * Creates `file` with `text`, or fails with EEXIST, so that nobody ever sees it empty or half
 * written: the text goes to a temp file first, and link() gives it the lock's name atomically.
 * (open O_EXCL + write left a moment where a second command read an empty lock, took it for a
 * stale one, and with --force-unlock would have removed a live lock.) A write that fails (a full
 * disk) leaves nothing behind.
 */
async function createComplete(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.writeFile(tmp, text, { mode: 0o600, flag: 'wx' });
    await fs.link(tmp, file);
  } catch (e) {
    if (e instanceof Error && (e as NodeJS.ErrnoException).code !== 'EEXIST') Object.assign(e, { path: file });
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

export async function acquireLock(
  paths: ProjectPaths,
  command: string,
  opts: { forceUnlock?: boolean } = {},
): Promise<Lock> {
  await fs.mkdir(path.dirname(paths.lock), { recursive: true, mode: 0o700 });
  const mine: LockInfo = { pid: process.pid, host: os.hostname(), command, time: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await createComplete(paths.lock, JSON.stringify(mine));
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
      throw new SwitchyardError(
        'LOCKED',
        `another switchyard command holds the lock: ${held.command}` +
          ` (pid ${held.pid} on ${held.host}, since ${held.time})`,
        {
          hint: 'wait for it to finish; it releases the lock when done',
        },
      );
    }
    if (!opts.forceUnlock) {
      throw new SwitchyardError('LOCK_STALE', describeLock(held), {
        hint: 'check `switchyard status`, then run the command again with --force-unlock to clear it',
      });
    }
    await fs.rm(paths.lock, { force: true });
  }
  throw new SwitchyardError('LOCKED', 'could not take the lock (another command raced for it)', {
    hint: 'run the command again',
  });
}
