/**
 * Writing one backup so that only complete dumps ever carry a backup name (I6): the producer
 * streams into `.<name>.partial` (0600, in a 0700 folder), which is fsynced, checked (non-empty,
 * and read back by the format's own verifier where there is one), given its sidecar and only then
 * renamed. Any failure or abort deletes the partial file. The sidecar records `verified: true`
 * only when a verifier read the dump.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { errorMessage, isSwitchyardError, SwitchyardError } from '../errors.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { describeDiskFull, diskFullCause } from '../util/disk-full.js';
import { backupId, backupName, partialOf, sidecarOf, type Sidecar } from './files.js';
import type { BackupMeta, BackupReason } from './types.js';

export interface WriteBackupOptions {
  dir: string;
  ext: string;
  format: string;
  reason: BackupReason;
  deployId?: string;
  signal?: AbortSignal;
  /** Streams the dump into `out`; throws when the dump failed. */
  produce(out: Writable): Promise<void>;
  /**
   * Checks the finished temp file; throws when it is not a usable dump. Without it (a format
   * switchyard cannot read, kind: command) the dump is only known to be non-empty, and the
   * sidecar says so: `verified: false, check: "non-empty"`.
   */
  verify?(tmp: string): Promise<void>;
}

const folderHint = (dir: string) => `make ${dir} a folder switchyard can write to, or point backup.dir somewhere else`;

/** Creates the folder 0700, and tightens it if it exists with looser permissions: dumps hold all the data. */
export async function ensureBackupDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await fs.stat(dir);
    if (!st.isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
    if ((st.mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
  } catch (e) {
    throw new SwitchyardError('BACKUP_FAILED', `cannot use the backup folder ${dir}: ${errorMessage(e)}`, {
      hint: folderHint(dir),
      cause: e,
    });
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function settle(out: Writable): Promise<void> {
  if (out.writableFinished) return;
  if (out.destroyed) throw new Error('the dump stream was closed before it finished');
  if (!out.writableEnded) out.end();
  await finished(out);
}

export async function writeBackup(o: WriteBackupOptions): Promise<BackupMeta> {
  const at = new Date();
  const t0 = performance.now();
  await ensureBackupDir(o.dir);
  const name = backupName(at, backupId(o.reason, o.deployId), o.ext);
  const file = path.join(o.dir, name);
  const tmp = partialOf(file);
  if (await fs.stat(file).catch(() => undefined)) {
    throw new SwitchyardError('BACKUP_FAILED', `a backup named ${name} already exists`, {
      hint: 'wait a second and try again; backups are never overwritten',
    });
  }
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(tmp, 'wx', 0o600);
  } catch (e) {
    throw new SwitchyardError('BACKUP_FAILED', `cannot write in the backup folder ${o.dir}: ${errorMessage(e)}`, {
      hint: folderHint(o.dir),
      cause: e,
    });
  }
  let sidecarWritten = false;
  const out = fh.createWriteStream({ autoClose: false });
  // A write still pending when a failed producer makes us destroy the stream ends in
  // ERR_STREAM_DESTROYED, emitted as 'error': without a listener that is an uncaught exception
  // (a CI run on a loaded machine crashed so). Errors before that still reach settle(), whose
  // finished() rejects on a stream that already errored.
  out.on('error', () => undefined);
  try {
    await o.produce(out);
    await settle(out);
    await fh.sync();
    const bytes = (await fh.stat()).size;
    // The stream holds a reference on the handle: close() would wait for it forever.
    out.destroy();
    await fh.close();
    fh = undefined;
    if (o.signal?.aborted) throw new SwitchyardError('ABORTED', 'database backup interrupted');
    if (bytes === 0)
      throw new SwitchyardError('BACKUP_FAILED', 'database backup failed: the dump came out empty', {
        hint: 'check that the dump command writes the dump to its standard output',
      });
    if (o.verify) await o.verify(tmp);
    if (o.signal?.aborted) throw new SwitchyardError('ABORTED', 'database backup interrupted');
    const verdict: Pick<Sidecar, 'verified' | 'check'> = o.verify
      ? { verified: true }
      : { verified: false, check: 'non-empty' };
    const side: Sidecar = {
      at: at.toISOString(),
      ...(o.deployId ? { deployId: o.deployId } : {}),
      reason: o.reason,
      format: o.format,
      bytes,
      ...verdict,
      ms: Math.round(performance.now() - t0),
    };
    // The sidecar goes first: a dump under its final name always has one.
    await writeJsonAtomic(sidecarOf(file), side, 0o600);
    sidecarWritten = true;
    await fs.rename(tmp, file);
    // Durability of the rename is best effort: the dump is complete either way.
    await fsyncDir(o.dir).catch(() => undefined);
    return { file, name, ...side };
  } catch (e) {
    out.destroy();
    await fh?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    if (sidecarWritten) await fs.rm(sidecarOf(file), { force: true });
    const full = diskFullCause(e);
    if (full && !(isSwitchyardError(e) && (e.code === 'ABORTED' || e.code === 'TIMEOUT'))) {
      throw new SwitchyardError(
        'BACKUP_FAILED',
        `database backup failed: the disk holding ${o.dir}` +
          ` is full (${describeDiskFull(full).what.replace(/ writing .*/, '')}` +
          `); the partial dump was removed`,
        {
          hint:
            `free space there (see \`df -h ${o.dir}\`)` +
            ` or point backup.dir at a disk with room for a dump, then run the command again`,
          cause: e,
        },
      );
    }
    if (isSwitchyardError(e)) throw e;
    throw new SwitchyardError('BACKUP_FAILED', `database backup failed: could not write ${tmp}: ${errorMessage(e)}`, {
      hint: folderHint(o.dir),
      cause: e,
    });
  }
}
