/**
 * Paths from the compose project folder to the folder switchyard.yml is written to. Compose reads a
 * relative path (build context, env_file, bind mount) from the project folder, switchyard from the
 * folder of its switchyard.yml: the same place, named from there, with POSIX separators.
 */
import path from 'node:path';

/** Not a local relative path: absolute, home, a variable first, a URL or git address. */
const fixed = (p: string) => path.isAbsolute(p) || /^(~|\$|[a-z][a-z0-9+.-]*:\/\/|git@)/i.test(p);

/**
 * `p` (relative to `from`) relative to `to`; as written when both are one folder or the path is not
 * a local relative one. `dot`: always start with "./" or "../" (switchyard's bind mounts need it).
 */
export function rebase(p: string, from: string, to: string, dot = false): string {
  if (fixed(p) || path.resolve(from) === path.resolve(to)) return p;
  const rel = path.relative(to, path.resolve(from, p)).split(path.sep).join('/') || '.';
  return (dot || /^\.[\\/]/.test(p)) && !rel.startsWith('.') ? `./${rel}` : rel;
}

/** A host path of a short-syntax mount ("./src:/dst:ro") rebased; long syntax is rebuilt by the caller. */
export function rebaseMount(spec: string, from: string, to: string): string {
  const [src = '', ...rest] = spec.split(':');
  const isPath = src.startsWith('.') || src.startsWith('/') || src.startsWith('~');
  return isPath ? [rebase(src, from, to, true), ...rest].join(':') : spec;
}
