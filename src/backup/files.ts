/**
 * The backup folder: names, listing, retention and finding the file to restore. A complete backup
 * is `db-backup-<yyyymmdd>-<hhmmss>-<id>.<ext>` with a sidecar `<name>.json`; anything starting
 * with "." is work in progress (write.ts) and never listed.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { printable } from '../config/format-issues.js';
import { ExitCode, SwitchyardError } from '../errors.js';
import type { BackupMeta, BackupReason } from './types.js';

const NAME = /^db-backup-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-([A-Za-z0-9_-]+)\.([a-z0-9]{1,10})$/;
/** Partial files and orphaned sidecars older than this are leftovers of a crash. */
const STALE_MS = 60 * 60 * 1000;

/**
 * What the sidecar records. `check: "non-empty"` marks a dump nothing could read back (kind:
 * command): it is only known to be non-empty, so it is never `verified`.
 */
export type Sidecar = Pick<BackupMeta, 'at' | 'deployId' | 'reason' | 'format' | 'bytes' | 'verified' | 'ms'> & {
  check?: 'non-empty';
};

/** Formats switchyard reads back after writing (pg_restore --list; the plain dump's last line). */
const VERIFIABLE_FORMATS = new Set(['custom', 'plain']);

/**
 * The verdict a sidecar may claim. Earlier versions wrote `verified: true` for kind: command dumps
 * after checking only that they were non-empty; such a claim (a format switchyard cannot read) is
 * read as what it was: not verified, non-empty.
 */
function honest(side: Sidecar): Sidecar {
  if (side.check === 'non-empty' || (side.verified && !VERIFIABLE_FORMATS.has(side.format)))
    return { ...side, verified: false, check: 'non-empty' };
  return side;
}

/** How a listing names the verdict: "verified", "not verified (only checked non-empty)", "NOT verified". */
export function verificationOf(m: BackupMeta): string {
  if (m.verified) return 'verified';
  return (m as BackupMeta & Pick<Sidecar, 'check'>).check === 'non-empty'
    ? 'not verified (only checked non-empty)'
    : 'NOT verified';
}

export const sidecarOf = (file: string) => `${file}.json`;
export const partialOf = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.partial`);

/** The id part of a name: the deploy id (made safe for a file name), else a short random one. */
export function backupId(reason: BackupReason, deployId?: string): string {
  if (reason === 'deploy' && deployId) return deployId.replace(/[^A-Za-z0-9_-]/g, '-');
  return `${reason}-${randomBytes(3).toString('hex')}`;
}

export function backupName(at: Date, id: string, ext: string): string {
  const iso = at.toISOString(); // UTC: names sort the same on every machine.
  const day = iso.slice(0, 10).replace(/-/g, '');
  const time = iso.slice(11, 19).replace(/:/g, '');
  return `db-backup-${day}-${time}-${id}.${ext}`;
}

export function parseBackupName(name: string): { at: string; id: string; ext: string } | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, id, ext] = m as unknown as string[];
  return { at: `${y}-${mo}-${d}T${h}:${mi}:${s}.000Z`, id: id!, ext: ext! };
}

/** What a name alone says, for dumps without a sidecar (copied in by hand). */
function metaFromName(file: string, bytes: number): BackupMeta | undefined {
  const name = path.basename(file);
  const p = parseBackupName(name);
  if (!p) return undefined;
  const reason: BackupReason = p.id.startsWith('manual-')
    ? 'manual'
    : p.id.startsWith('pre-restore-')
      ? 'pre-restore'
      : 'deploy';
  const format = p.ext === 'dump' ? 'custom' : p.ext === 'sql' ? 'plain' : p.ext;
  return {
    file,
    name,
    at: p.at,
    ...(reason === 'deploy' ? { deployId: p.id } : {}),
    reason,
    format,
    bytes,
    verified: false,
    ms: 0,
  };
}

async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    const s = JSON.parse(await fs.readFile(sidecarOf(file), 'utf8')) as Sidecar;
    return typeof s.at === 'string' && typeof s.reason === 'string' ? honest(s) : undefined;
  } catch {
    return undefined; // missing or damaged: fall back to the name
  }
}

/** Complete backups in dir, newest first; [] when the folder does not exist yet. */
export async function listBackups(dir: string): Promise<BackupMeta[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const found: { meta: BackupMeta; mtime: number }[] = [];
  for (const name of names) {
    if (!NAME.test(name)) continue;
    const file = path.join(dir, name);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    const base = metaFromName(file, st.size)!;
    const side = await readSidecar(file);
    const meta: BackupMeta = side ? { file, name, ...side, bytes: st.size } : base;
    if (side && side.deployId === undefined) delete meta.deployId;
    found.push({ meta, mtime: st.mtimeMs });
  }
  // Sidecar times have milliseconds, names only seconds; mtime breaks the remaining ties.
  found.sort(
    (a, b) =>
      Date.parse(b.meta.at) - Date.parse(a.meta.at) || b.mtime - a.mtime || b.meta.name.localeCompare(a.meta.name),
  );
  return found.map((f) => f.meta);
}

/**
 * Keeps the newest `keep` complete backups and every one named in `protect`; deletes the rest
 * (with their sidecars), plus crash leftovers older than an hour. Returns the backups deleted.
 */
export async function pruneBackups(dir: string, keep: number, protect: string[], now = Date.now()): Promise<string[]> {
  const safe = new Set(protect.map((p) => path.basename(p)));
  const all = await listBackups(dir);
  const removed: string[] = [];
  for (const b of all.slice(keep)) {
    if (safe.has(b.name)) continue;
    await fs.rm(b.file, { force: true });
    await fs.rm(sidecarOf(b.file), { force: true });
    removed.push(b.name);
  }
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const leftover =
      (name.startsWith('.db-backup-') && name.endsWith('.partial')) ||
      (name.endsWith('.json') && NAME.test(name.slice(0, -5)));
    if (!leftover) continue;
    const file = path.join(dir, name);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st || now - st.mtimeMs < STALE_MS) continue;
    // A sidecar whose dump still exists is not a leftover.
    if (!name.startsWith('.') && (await fs.stat(file.slice(0, -5)).catch(() => undefined))) continue;
    await fs.rm(file, { force: true });
  }
  return removed;
}

/**
 * The backup a user named: `latest` (when allowed), a path, or a name in dir. Resolve `latest`
 * before taking the pre-restore safety backup, which would otherwise become the latest.
 *
 * Only a regular file directly inside the backup folder can be restored. A name that leads out of
 * it (`../../etc/passwd`, an absolute path elsewhere, a symlink in the folder pointing out, judged
 * on real paths) is refused with exit 2, a usage error, before anything runs. A name in the folder
 * that is not a complete backup (missing, a partial, a sidecar) is RESTORE_FAILED as before.
 */
export async function resolveBackup(
  dir: string,
  ref: string,
  opts: { allowLatest?: boolean; cwd?: string } = {},
): Promise<BackupMeta> {
  const all = await listBackups(dir);
  const newest = all.slice(0, 5).map((b) => b.name);
  const hint = newest.length ? `the newest in ${dir}: ${newest.join(', ')}` : `there are no backups in ${dir} yet`;
  const shown = printable(ref); // one line whatever the argument holds
  const outside = () =>
    new SwitchyardError(
      'RESTORE_FAILED',
      `${shown} is not a backup in ${dir}: only backups in the backup folder can be restored`,
      {
        hint: `copy the dump into ${dir} first; ${hint}`,
        exitCode: ExitCode.usage,
      },
    );
  let meta: BackupMeta | undefined;
  let file: string;
  if (ref === 'latest' && opts.allowLatest !== false) {
    if (!all[0])
      throw new SwitchyardError('RESTORE_FAILED', `there is no backup to restore: ${dir} holds no complete backup`, {
        hint: 'take one first (a deploy does), or name a dump file',
      });
    meta = all[0];
    file = meta.file;
  } else {
    if (ref === '' || ref.includes('\0'))
      throw new SwitchyardError('RESTORE_FAILED', `not a backup name: ${JSON.stringify(ref)}`, {
        hint,
        exitCode: ExitCode.usage,
      });
    const inDir = !ref.includes('/') && !ref.includes(path.sep);
    file = inDir ? path.join(dir, ref) : path.resolve(opts.cwd ?? process.cwd(), ref);
    if (path.dirname(file) !== path.resolve(dir)) throw outside();
    meta = all.find((b) => b.file === file);
  }
  const missing = () =>
    new SwitchyardError(
      'RESTORE_FAILED',
      ref.includes('/') ? `no backup file at ${printable(file)}` : `no backup named ${shown} in ${dir}`,
      { hint },
    );
  const realDir = await fs.realpath(dir).catch(() => undefined);
  const real = await fs.realpath(file).catch(() => undefined);
  if (realDir === undefined || real === undefined) throw missing();
  if (path.dirname(real) !== realDir) throw outside();
  const st = await fs.stat(real).catch(() => undefined);
  const base = path.basename(file);
  const isSidecar = base.endsWith('.json') && NAME.test(base.slice(0, -5));
  if (!st?.isFile() || base.startsWith('.') || path.basename(real).startsWith('.') || isSidecar) throw missing();
  if (meta) return meta;
  return (
    metaFromName(file, st.size) ?? {
      file,
      name: base,
      at: st.mtime.toISOString(),
      reason: 'manual',
      format: path.extname(base).slice(1) || 'unknown',
      bytes: st.size,
      verified: false,
      ms: 0,
    }
  );
}
