/**
 * Writes a unit file all or nothing: a temp file in the same folder, fsync, rename over the target.
 * A folder this user cannot write fails at the temp file, so nothing is left behind; any later
 * failure removes the temp file. Permission errors become a message naming the file and the fix.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SwitchyardError } from '../../errors.js';

export interface Where {
  /** A --user unit. */
  user: boolean;
  /** The folder came from --unit-dir. */
  explicit: boolean;
}

function fix(where: Where): string {
  if (where.explicit) return 'choose a --unit-dir this user can write, or run as a user that can write it';
  if (where.user) return 'make the folder writable for this user, or pass --unit-dir DIR';
  return 'run it as root (sudo), or use --user for a unit of your own service manager';
}

/** EACCES/EPERM/EROFS as a SwitchyardError (exit 1) naming the file; any other error as it is. */
export function fileError(e: unknown, file: string, verb: string, where?: Where): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM')
    return new SwitchyardError('COMMAND_FAILED', `cannot ${verb} ${file}: permission denied`, {
      hint: where ? fix(where) : 'run it as a user that can read the folder (root for /etc/systemd/system)',
      cause: e,
    });
  if (code === 'EROFS')
    return new SwitchyardError('COMMAND_FAILED', `cannot ${verb} ${file}: the file system is read-only`, {
      hint: 'remount it read-write, or pass --unit-dir DIR on a writable file system',
      cause: e,
    });
  return e;
}

export async function writeUnitFile(file: string, text: string, where: Where): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let created = false;
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    const fh = await fs.open(tmp, 'wx', 0o644);
    created = true;
    try {
      await fh.chmod(0o644); // whatever the umask: systemd and `status` of other users read it
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
    created = false;
  } catch (e) {
    if (created) await fs.rm(tmp, { force: true });
    throw fileError(e, file, 'write', where);
  }
}
