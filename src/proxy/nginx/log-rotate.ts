/**
 * nginx's own error log, rotated the way nginx supports: rename it (nginx keeps writing to the
 * renamed file), then SIGUSR1 to the master, which reopens its logs under their names. Nothing is
 * lost and no request is touched. (The counting log that the live watch reads exists only while a
 * watch runs and is emptied by it.)
 */
import fs from 'node:fs';
import type { NginxFiles } from './files.js';
import { masterPid } from './process.js';

/** True when it rotated. Only for a running master of this project (host mode, or a container sharing our pids). */
export async function rotateNginxErrorLog(f: NginxFiles, o: { maxSize: number; keep: number }): Promise<boolean> {
  const size = fs.statSync(f.errorLog, { throwIfNoEntry: false })?.size ?? 0;
  if (size < o.maxSize) return false;
  const pid = await masterPid(f);
  if (pid === undefined) return false;
  for (let i = o.keep; i >= 1; i--) {
    const from = `${f.errorLog}.${i}`;
    if (!fs.existsSync(from)) continue;
    if (i === o.keep) fs.rmSync(from, { force: true });
    else fs.renameSync(from, `${f.errorLog}.${i + 1}`);
  }
  if (o.keep > 0) fs.renameSync(f.errorLog, `${f.errorLog}.1`);
  else fs.truncateSync(f.errorLog, 0);
  process.kill(pid, 'SIGUSR1');
  return true;
}
