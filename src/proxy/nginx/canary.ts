/**
 * The canary split as files, so changing it never reloads nginx. nginx hashes each client's sticky
 * key into a bucket 0..99 (split_clients, rendered) and, per request, tests
 * `-f <dir>/split/<inactive colour>/<bucket>`. `split` is a symlink to a folder
 * `split.<colour>.<percent>.<id>/<colour>/` holding the files 0..percent-1, replaced atomically
 * (a new symlink renamed over it); no symlink = no split. A bucket below P is below any larger P,
 * so a client in the canary stays in it as the percentage grows. The symlink's target names the
 * split, which is how status() reads it back.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isColour, type Colour } from '../../config/schema.js';
import type { Canary } from '../types.js';
import type { NginxFiles } from './files.js';

const PREFIX = 'split.';
const TARGET = /^split\.(blue|green)\.(\d{1,2})\.[0-9a-f]+$/;

/** An integer 0..99 (0 ends the split; 100 would be a switch). */

/** The split nginx applies now (from the symlink), or null. */
export async function readSplit(f: NginxFiles): Promise<Canary | null> {
  const target = await fs.readlink(f.split).catch(() => undefined);
  const m = target === undefined ? null : TARGET.exec(target);
  if (!m || !isColour(m[1])) return null;
  const percent = Number(m[2]);
  return percent >= 1 && percent <= 99 ? { colour: m[1], percent } : null;
}

/** Points `split` at a new folder: `percent`% of buckets (0..percent-1) go to `colour`. */
export async function writeSplit(f: NginxFiles, colour: Colour, percent: number): Promise<void> {
  const id = randomBytes(6).toString('hex');
  const name = `${PREFIX}${colour}.${percent}.${id}`;
  const folder = path.join(f.dir, name, colour);
  // Readable by the workers like the flag file (they only stat these), complete before the swap.
  await fs.mkdir(folder, { recursive: true, mode: 0o755 });
  await Promise.all(
    Array.from({ length: percent }, (_, b) => fs.writeFile(path.join(folder, String(b)), '', { mode: 0o644 })),
  );
  const tmp = path.join(f.dir, `.split.${id}.tmp`);
  const previous = await fs.readlink(f.split).catch(() => undefined);
  await fs.symlink(name, tmp);
  try {
    await fs.rename(tmp, f.split);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await pruneSplits(f, [name, previous]);
}

/** No split: every request goes to the active colour (unlink is atomic). */
export async function clearSplit(f: NginxFiles): Promise<void> {
  const previous = await fs.readlink(f.split).catch(() => undefined);
  await fs.rm(f.split, { force: true });
  await pruneSplits(f, [previous]);
}

/**
 * Removes split folders (and leftover temp links) except the current one and the one it just
 * replaced: a request that resolved the old link a moment ago may still be looking inside it.
 * Older ones go at the next change, so there are never more than two.
 */
async function pruneSplits(f: NginxFiles, keep: (string | undefined)[]): Promise<void> {
  const names = await fs.readdir(f.dir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter(
        (n) => !keep.includes(n) && ((n.startsWith(PREFIX) && TARGET.test(n)) || /^\.split\.[0-9a-f]+\.tmp$/.test(n)),
      )
      .map((n) => fs.rm(path.join(f.dir, n), { recursive: true, force: true })),
  );
}
