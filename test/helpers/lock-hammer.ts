/**
 * Run as a child process (node --import tsx lock-hammer.ts DIR START_MS MS): from START_MS (epoch)
 * for MS milliseconds, takes and releases the project lock of DIR as fast as it can, as a second
 * command racing this one would. Prints one JSON line: how often it won, found the lock held, and
 * found it "stale" (which would mean it saw a half-written lock file).
 */
import { acquireLock } from '../../src/state/lock.ts';
import { projectPaths } from '../../src/state/paths.ts';
import { isSwitchyardError } from '../../src/errors.ts';

const [dir, startAt, forMs] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4])];
const paths = projectPaths(dir);
const counts = { won: 0, locked: 0, stale: 0, other: [] as string[] };
while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
const end = performance.now() + forMs;
while (performance.now() < end) {
  try {
    const lock = await acquireLock(paths, 'deploy');
    counts.won++;
    await lock.release();
  } catch (e) {
    if (isSwitchyardError(e) && e.code === 'LOCKED') counts.locked++;
    else if (isSwitchyardError(e) && e.code === 'LOCK_STALE') counts.stale++;
    else counts.other.push(String(e));
  }
}
console.log(JSON.stringify(counts));
