/**
 * Release folders (.switchyard/releases/<id>/): ids, the release.json manifest, listing and pruning.
 * A release folder is complete only once release.json exists: it is written last, atomically, so
 * a crash mid-prepare leaves a folder that nothing will start and prune will remove.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ProjectPaths } from '../state/paths.js';
import { readJson, writeJsonAtomic } from '../state/atomic.js';
import type { Release } from './types.js';

export const MANIFEST = 'release.json';
/** Incomplete folders younger than this may belong to a prepare still running. */
export const INCOMPLETE_GRACE_MS = 60_000;

export interface ReleaseManifest extends Release {
  /** True when the working tree had uncommitted changes at snapshot time. */
  dirty?: boolean;
  /** The git ref asked for, when the release came from `git archive`. */
  ref?: string;
  services: string[];
}

/** Ids become folder names and arrive from the CLI: refuse anything that could escape releases/. */
export function isValidReleaseId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id) && !id.includes('..');
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`
  );
}

/** `YYYYMMDD-HHMMSS-<commit>[-dirty]` (UTC), or `-<6 hex>` outside git. */
export function baseReleaseId(now: Date, git: { commit: string; dirty: boolean } | undefined): string {
  const suffix = git ? `${git.commit}${git.dirty ? '-dirty' : ''}` : randomBytes(3).toString('hex');
  return `${stamp(now)}-${suffix}`;
}

/**
 * Creates the release folder and returns its id. mkdir without `recursive` fails if the folder
 * exists, which makes it an atomic claim: two prepares in the same second get `-2`, `-3`, ...
 */
export async function claimReleaseDir(paths: ProjectPaths, base: string): Promise<string> {
  await fs.mkdir(paths.releases, { recursive: true, mode: 0o700 });
  for (let n = 1; n < 1000; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    try {
      await fs.mkdir(paths.release(id), { mode: 0o755 });
      return id;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`could not create a unique release folder for ${base}`);
}

export async function writeManifest(paths: ProjectPaths, manifest: ReleaseManifest): Promise<void> {
  await writeJsonAtomic(path.join(paths.release(manifest.id), MANIFEST), manifest, 0o644);
}

/** The manifest of a complete release, or undefined (missing, incomplete or unreadable). */
export async function readManifest(paths: ProjectPaths, id: string): Promise<ReleaseManifest | undefined> {
  if (!isValidReleaseId(id)) return undefined;
  try {
    const m = await readJson<ReleaseManifest>(path.join(paths.release(id), MANIFEST));
    return m && m.id === id ? m : undefined;
  } catch {
    return undefined;
  }
}

export async function hasRelease(paths: ProjectPaths, id: string): Promise<boolean> {
  return (await readManifest(paths, id)) !== undefined;
}

interface Listed {
  id: string;
  manifest?: ReleaseManifest;
  mtimeMs: number;
}

async function listReleaseDirs(paths: ProjectPaths): Promise<Listed[]> {
  let names: string[];
  try {
    names = await fs.readdir(paths.releases);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: Listed[] = [];
  for (const id of names) {
    if (!isValidReleaseId(id)) continue;
    const st = await fs.stat(paths.release(id)).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const manifest = await readManifest(paths, id);
    out.push(manifest ? { id, manifest, mtimeMs: st.mtimeMs } : { id, mtimeMs: st.mtimeMs });
  }
  return out;
}

/** Complete releases, newest first (by createdAt, then id so equal times still sort stably). */
export async function listReleases(paths: ProjectPaths): Promise<ReleaseManifest[]> {
  const all = (await listReleaseDirs(paths)).flatMap((r) => (r.manifest ? [r.manifest] : []));
  return all.sort((a, b) =>
    a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt),
  );
}

/**
 * Keeps the newest `keep` complete releases plus everything in `protect`; removes older complete
 * ones and incomplete ones past the grace period. Returns the ids removed.
 */
export async function pruneReleases(
  paths: ProjectPaths,
  keep: number,
  protect: string[],
  services: string[],
  now = Date.now(),
): Promise<string[]> {
  const keepSet = new Set(protect);
  const listed = await listReleaseDirs(paths);
  const complete = listed.filter((r) => r.manifest).map((r) => r.manifest as ReleaseManifest);
  complete.sort((a, b) =>
    a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt),
  );
  for (const m of complete.slice(0, Math.max(0, keep))) keepSet.add(m.id);
  const doomed = [
    ...complete.filter((m) => !keepSet.has(m.id)).map((m) => m.id),
    ...listed
      .filter((r) => !r.manifest && !keepSet.has(r.id) && now - r.mtimeMs > INCOMPLETE_GRACE_MS)
      .map((r) => r.id),
  ];
  const removed: string[] = [];
  for (const id of doomed) {
    await fs.rm(paths.release(id), { recursive: true, force: true });
    for (const s of services) await fs.rm(paths.buildLog(id, s), { force: true });
    removed.push(id);
  }
  return removed;
}

/**
 * Files of the project that belong to switchyard, not to any release, when a service's cwd holds
 * them (cwd: .): .current-env and the database backup folder. Never copied into a snapshot (a
 * release must not carry every database dump) nor sent to the Docker engine as build context.
 */
export function projectOwnFiles(ctx: {
  config: { backup: { kind: string; dir?: string } };
  paths: ProjectPaths;
}): string[] {
  const b = ctx.config.backup;
  return [ctx.paths.currentEnv, ...(b.kind !== 'none' && b.dir ? [path.resolve(ctx.paths.root, b.dir)] : [])];
}
