/**
 * The files of a switchyard-run nginx, all inside .switchyard/nginx/ so it is a private instance
 * that never touches the system nginx (/etc/nginx, /var/log/nginx, /run/nginx.pid).
 *
 * The colour flag (green.active) is what nginx tests on every request: present = green, absent =
 * blue. The same goes for the canary split (split -> split.<colour>.<percent>.<id>/), maintenance
 * (maintenance.on) and counting (watch.on): flag files and a symlink, so none of them reloads nginx.
 * state.json only remembers what switchyard told nginx (backends per colour, last colour, the
 * features rendered), so a restarted nginx is rendered with the same upstreams.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Colour } from '../../config/schema.js';
import type { ProjectPaths } from '../../state/paths.js';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../../state/atomic.js';
import { SwitchyardError } from '../../errors.js';
import { checkSavedRouting, type SavedRouting } from '../saved.js';
import { DEFAULT_MAINTENANCE_MESSAGE, maintenancePage } from '../maintenance-page.js';

export interface NginxFiles {
  dir: string;
  conf: string;
  pid: string;
  errorLog: string;
  flag: string;
  state: string;
  /** What switchyard last loaded into the running master (see recordLoaded). */
  loaded: string;
  /** Parent of nginx's temp folders (request bodies, buffered responses). */
  temp: string;
  /** Symlink to the current canary folder (absent: no split); see canary.ts. */
  split: string;
  /** Present while maintenance is on (JSON: message, since); see maintenance.ts. */
  maintenanceFlag: string;
  /** The page nginx answers with while maintenance is on. */
  maintenancePage: string;
  /** Present while counting is on (JSON: since); renamed to watchLast when turned off. */
  watchFlag: string;
  watchLast: string;
  /** The JSON access log counting reads (written only while watchFlag exists). */
  accessLog: string;
}

export function nginxFiles(paths: ProjectPaths): NginxFiles {
  return nginxFilesIn(path.join(paths.dir, 'nginx'));
}

/** The same files in any folder (the swarm edge keeps them in its state volume, nginx/edge.ts). */
export function nginxFilesIn(dir: string): NginxFiles {
  return {
    dir,
    conf: path.join(dir, 'nginx.conf'),
    pid: path.join(dir, 'nginx.pid'),
    errorLog: path.join(dir, 'error.log'),
    flag: path.join(dir, 'green.active'),
    state: path.join(dir, 'state.json'),
    loaded: path.join(dir, 'loaded.json'),
    temp: path.join(dir, 'temp'),
    split: path.join(dir, 'split'),
    maintenanceFlag: path.join(dir, 'maintenance.on'),
    maintenancePage: path.join(dir, 'maintenance.html'),
    watchFlag: path.join(dir, 'watch.on'),
    watchLast: path.join(dir, 'watch.last'),
    accessLog: path.join(dir, 'access.json'),
  };
}

/** What nginx saves of the routing state (../saved.ts); the split, maintenance and counting are files. */
export type NginxState = Pick<SavedRouting, 'active' | 'backends' | 'features'>;

/** Reads nginx's state.json through the same check as the built-in proxy's snapshot; none yet = nothing routed. */
export async function readNginxState(f: NginxFiles): Promise<NginxState> {
  let raw: unknown;
  try {
    raw = await readJson<unknown>(f.state);
  } catch (e) {
    throw new SwitchyardError('PROXY_FAILED', `cannot read nginx's state ${f.state}`, {
      cause: e,
      hint: 'run `switchyard down` then the command again (the colour nginx serves is kept in its flag file)',
    });
  }
  if (raw === undefined) return { active: null, backends: {} };
  const s = checkSavedRouting(raw);
  return { active: s.active, backends: s.backends, ...(s.features ? { features: s.features } : {}) };
}

export async function writeNginxState(f: NginxFiles, s: NginxState): Promise<void> {
  await writeJsonAtomic(f.state, s);
}

/** The colour nginx routes to right now: the flag file is the truth, not state.json. */
export async function flagColour(f: NginxFiles): Promise<Colour> {
  return (await fs.stat(f.flag).then(
    () => true,
    () => false,
  ))
    ? 'green'
    : 'blue';
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

/**
 * Folders nginx needs before it starts; the worker user must be able to write the temp ones. The
 * access log is created here, owner-only, so nginx (which opens it as the master, before the
 * workers start) finds it and never creates it 0644 itself.
 */
export async function ensureDirs(f: NginxFiles): Promise<void> {
  await fs.mkdir(f.dir, { recursive: true, mode: 0o755 });
  await fs.mkdir(f.temp, { recursive: true, mode: 0o700 });
  await (await fs.open(f.accessLog, 'a', 0o600)).close();
  // A page always exists, so even a maintenance flag made by hand answers with it (not a 404).
  if (!(await fs.stat(f.maintenancePage).catch(() => undefined)))
    await writeFileAtomic(f.maintenancePage, maintenancePage(DEFAULT_MAINTENANCE_MESSAGE), 0o644);
}

const STAMP = '# switchyard sha256 ';
const sha256 = (t: string) => createHash('sha256').update(t).digest('hex');

/**
 * The config as written to disk: the rendered text plus a last comment line with its hash, so a
 * later command can tell a file edited by hand (hash wrong or gone) from one rendered from an
 * older switchyard.yml (hash right, text different: an ordinary config change).
 */
export function stamped(text: string): string {
  const body = text.endsWith('\n') ? text : `${text}\n`;
  return `${body}${STAMP}${sha256(body)}\n`;
}

/** Whether the file's text is not what switchyard wrote (edited by hand, or by another program). */
export function editedByHand(fileText: string): boolean {
  const i = fileText.lastIndexOf(STAMP);
  if (i < 0) return true;
  return fileText.slice(i) !== `${STAMP}${sha256(fileText.slice(0, i))}\n`;
}

/** Writes the config (stamped), returning what was there before (undefined: no file) so it can be restored. */
export async function swapConfig(f: NginxFiles, text: string): Promise<string | undefined> {
  const before = await fs.readFile(f.conf, 'utf8').catch(() => undefined);
  await writeFileAtomic(f.conf, stamped(text), 0o644);
  return before;
}

/**
 * A config edited by hand is about to be replaced by the rendered one: keep the user's version
 * next to it (nginx.conf.edited) and say so. Returns the note, or undefined when nothing was edited.
 */
export async function keepHandEdits(f: NginxFiles, rendered: string): Promise<string | undefined> {
  const current = await fs.readFile(f.conf, 'utf8').catch(() => undefined);
  // An unstamped file equal to the rendered text was written by an older switchyard: not an edit.
  if (current === undefined || current === rendered || !editedByHand(current)) return undefined;
  const copy = `${f.conf}.edited`;
  await writeFileAtomic(copy, current, 0o644);
  return (
    `${f.conf} was changed by hand: switchyard renders it from switchyard.yml` +
    `, so it was rendered again` +
    ` (your version is saved in ${copy}; make lasting changes in switchyard.yml)`
  );
}

export async function restoreConfig(f: NginxFiles, before: string | undefined): Promise<void> {
  if (before === undefined) await fs.rm(f.conf, { force: true });
  else await writeFileAtomic(f.conf, before, 0o644);
}

interface Loaded {
  master: number;
  sha: string;
  workers: number[];
}

/**
 * After switchyard started or reloaded nginx with `text` (as written, stamped): remember which
 * workers run it. A reload replaces every worker, so as long as those same workers serve, nginx
 * runs exactly this text, whatever the file says now.
 */
export async function recordLoaded(
  f: NginxFiles,
  master: number,
  text: string,
  workers: () => Promise<number[]>,
): Promise<void> {
  // Workers are forked just after the master binds: wait (bounded) until their number settles.
  let seen = await workers();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await workers();
    if (now.length > 0 && now.length === seen.length) break;
    seen = now;
  }
  await writeJsonAtomic(f.loaded, { master, sha: sha256(text), workers: await workers() } satisfies Loaded);
}

/** Whether the master still runs what recordLoaded saw it load as `text` (no reload since, by anyone). */
export async function stillLoaded(
  f: NginxFiles,
  master: number,
  text: string,
  workers: () => Promise<number[]>,
): Promise<boolean> {
  const l = await readJson<Loaded>(f.loaded).catch(() => undefined);
  if (!l || l.master !== master || l.sha !== sha256(text) || l.workers.length === 0) return false;
  const now = await workers();
  return now.length > 0 && now.every((w) => l.workers.includes(w));
}
