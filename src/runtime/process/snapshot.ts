/**
 * Copying a service's working tree into its release folder. fs.cp refuses to copy a folder into
 * its own subfolder, and the release folder lives under .switchyard inside the project, so when a
 * service's cwd contains .switchyard we walk down to it by hand and fs.cp everything beside it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Exclude patterns: a bare name (".git") matches that name at any depth; a path
 * ("node_modules/.cache") matches that relative path at any depth. `never` (absolute paths:
 * switchyard's own state folder, .current-env, the backup folder) is skipped always.
 */
export function makeExcluder(srcRoot: string, patterns: string[], never: string | string[]): (abs: string) => boolean {
  const nevers = (Array.isArray(never) ? never : [never]).map((n) => path.resolve(n));
  const clean = patterns.map((p) => p.replace(/^\.\/+|\/+$/g, '')).filter((p) => p.length > 0);
  const names = new Set(clean.filter((p) => !p.includes('/')));
  const paths = clean.filter((p) => p.includes('/'));
  return (abs) => {
    if (nevers.some((n) => abs === n || abs.startsWith(n + path.sep))) return true;
    if (names.has(path.basename(abs))) return true;
    const rel = path.relative(srcRoot, abs).split(path.sep).join('/');
    return paths.some((p) => rel === p || rel.endsWith('/' + p));
  };
}

export async function copyWorkingTree(
  src: string,
  dest: string,
  exclude: string[],
  stateDir: string,
  alsoNever: string[] = [],
): Promise<void> {
  const excluded = makeExcluder(src, exclude, [stateDir, ...alsoNever]);
  const filter = async (from: string): Promise<boolean> => {
    if (excluded(from)) return false;
    // Sockets and FIFOs cannot be copied and are never part of an app's source.
    const st = await fs.lstat(from).catch(() => undefined);
    return !st || !(st.isSocket() || st.isFIFO());
  };
  await fs.mkdir(dest, { recursive: true });
  await copyDir(src, dest, filter, stateDir);
}

async function copyDir(
  src: string,
  dest: string,
  filter: (from: string) => Promise<boolean>,
  stateDir: string,
): Promise<void> {
  for (const entry of await fs.readdir(src, { withFileTypes: true })) {
    const from = path.join(src, entry.name);
    const to = path.join(dest, entry.name);
    if (!(await filter(from))) continue;
    if (entry.isDirectory() && stateDir.startsWith(from + path.sep)) {
      await fs.mkdir(to, { recursive: true });
      await copyDir(from, to, filter, stateDir);
      continue;
    }
    // verbatimSymlinks keeps relative links relative (node_modules/.bin) instead of pointing back into the source.
    await fs.cp(from, to, {
      recursive: true,
      filter,
      verbatimSymlinks: true,
      preserveTimestamps: true,
      errorOnExist: false,
      force: true,
    });
  }
}
