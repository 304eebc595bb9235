/**
 * deploy.keepOldFor: the old colour stays warm for a while so a rollback is a pure traffic switch
 * (like Argo Rollouts' scaleDownDelay). A small detached process stops it when the window ends,
 * unless a later command made it live again or replaced its release.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Colour } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { acquireLock, type Lock } from '../state/lock.js';
import { readState, withColourStatus, writeState } from '../state/state.js';
import { selfCommand } from '../util/self.js';
import type { Engine } from './context.js';
import { openProxy } from './proxy.js';
import { drainAndStop } from './traffic.js';

export async function keepWarm(e: Engine, colour: Colour, release: string | null, afterMs: number): Promise<void> {
  const cmd = selfCommand([
    'reap',
    '--colour',
    colour,
    '--release',
    release ?? '',
    '--after',
    String(afterMs),
    '-c',
    e.loaded.file,
  ]);
  fs.mkdirSync(e.paths.logs, { recursive: true, mode: 0o700 });
  const log = fs.openSync(`${e.paths.logs}/reaper.log`, 'a', 0o600);
  const child = spawn(cmd.file, cmd.args, { detached: true, stdio: ['ignore', log, log], cwd: e.paths.root });
  child.unref();
  fs.closeSync(log);
}

/** The reaper's body: wait, then stop the colour if it is still the idle one with the same release. */
export async function reap(e: Engine, colour: Colour, release: string, afterMs: number): Promise<string> {
  await new Promise((r) => setTimeout(r, afterMs));
  for (let attempt = 0; attempt < 60; attempt++) {
    let lock: Lock;
    try {
      lock = await acquireLock(e.paths, 'reap');
    } catch {
      await new Promise((r) => setTimeout(r, 5000)); // a deploy is running: try again shortly
      continue;
    }
    try {
      const state = await readState(e.paths);
      if (!state || state.active === colour || state.colours[colour].release !== release)
        return `${colour} is no longer the idle ${release}: left alone`;
      const { control } = await openProxy(e);
      await drainAndStop(e, control, colour);
      await writeState(e.paths, withColourStatus(state, colour, 'stopped'));
      return `stopped ${colour} (release ${release}) after its keep-warm window`;
    } catch (err) {
      return `could not stop ${colour}: ${errorMessage(err)}`;
    } finally {
      await lock.release();
    }
  }
  return `gave up stopping ${colour}: the lock stayed busy`;
}
