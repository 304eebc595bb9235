/**
 * The files of a switchyard-run nginx, all inside .switchyard/nginx/ so it is a private instance
 * that never touches the system nginx (/etc/nginx, /var/log/nginx, /run/nginx.pid).
 *
 * The colour flag (green.active) is what nginx tests on every request: present = green, absent =
 * blue. state.json only remembers what switchyard told nginx (backends per colour, last colour), so
 * a restarted nginx is rendered with the same upstreams.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Colour } from '../../config/schema.js';
import type { ProjectPaths } from '../../state/paths.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../../state/atomic.js';
import type { Backends } from '../types.js';

export interface NginxFiles {
  dir: string;
  conf: string;
  pid: string;
  errorLog: string;
  flag: string;
  state: string;
  /** Parent of nginx's temp folders (request bodies, buffered responses). */
  temp: string;
}

export function nginxFiles(paths: ProjectPaths): NginxFiles {
  const dir = path.join(paths.dir, 'nginx');
  return {
    dir,
    conf: path.join(dir, 'nginx.conf'),
    pid: path.join(dir, 'nginx.pid'),
    errorLog: path.join(dir, 'error.log'),
    flag: path.join(dir, 'green.active'),
    state: path.join(dir, 'state.json'),
    temp: path.join(dir, 'temp'),
  };
}

export interface NginxState {
  active: Colour | null;
  backends: Partial<Record<Colour, Backends>>;
}

export async function readNginxState(f: NginxFiles): Promise<NginxState> {
  const s = await readJson<Partial<NginxState>>(f.state).catch(() => undefined);
  return { active: s?.active ?? null, backends: s?.backends ?? {} };
}

export async function writeNginxState(f: NginxFiles, s: NginxState): Promise<void> {
  await writeJsonAtomic(f.state, s);
}

/** The colour nginx routes to right now: the flag file is the truth, not state.json. */
export async function flagColour(f: NginxFiles): Promise<Colour> {
  return (await fs.stat(f.flag).then(() => true, () => false)) ? 'green' : 'blue';
}

/**
 * Moves every new request to `colour`. rename() and unlink() are atomic, so each request's stat()
 * sees either the old or the new colour, never a half-written file.
 */
export async function setFlag(f: NginxFiles, colour: Colour): Promise<void> {
  if (colour === 'green') {
    // Only the name matters, not the content, so no fsync of the data before the rename: the
    // switch is visible as soon as rename() returns. state.json, written next, is the durable record.
    const tmp = `${f.flag}.${process.pid}.tmp`;
    await fs.writeFile(tmp, 'green\n', { mode: 0o644 });
    await fs.rename(tmp, f.flag);
  } else {
    await fs.rm(f.flag, { force: true });
  }
}

/** Folders nginx needs before it starts; the worker user must be able to write the temp ones. */
export async function ensureDirs(f: NginxFiles): Promise<void> {
  await fs.mkdir(f.dir, { recursive: true, mode: 0o755 });
  await fs.mkdir(f.temp, { recursive: true, mode: 0o700 });
}

/** Writes the config, returning what was there before (undefined: no file) so it can be restored. */
export async function swapConfig(f: NginxFiles, text: string): Promise<string | undefined> {
  const before = await fs.readFile(f.conf, 'utf8').catch(() => undefined);
  await writeFileAtomic(f.conf, text, 0o644);
  return before;
}

export async function restoreConfig(f: NginxFiles, before: string | undefined): Promise<void> {
  if (before === undefined) await fs.rm(f.conf, { force: true });
  else await writeFileAtomic(f.conf, before, 0o644);
}
