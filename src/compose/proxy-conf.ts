/**
 * Reads the nginx configuration a proxy service mounts (under /etc/nginx: nginx.conf, conf.d,
 * templates, and whatever they `include` through the mounts) into NginxFacts. A mounted config
 * that cannot be read is an error naming the compose line of its volume.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { relative } from './files.js';
import { hostPathOf, type Mount } from './mounts.js';
import { type NginxFacts, nginxFacts, parseNginx } from './nginx.js';
import { composeError, type Loc } from './types.js';

const CONF_DIR = '/etc/nginx';
const isConf = (f: string) => f.endsWith('.conf') || f.endsWith('.template');
/** Where the nginx images read configuration from; other mounts under /etc/nginx (certificates) are not read. */
const CONF_DIRS = ['', '/conf.d', '/sites-enabled', '/http.d', '/templates'].map((d) => CONF_DIR + d);
const isConfMount = (target: string) =>
  CONF_DIRS.includes(target.replace(/\/$/, '')) || (target.startsWith(`${CONF_DIR}/`) && isConf(target));

export interface ProxyConf {
  facts: NginxFacts;
  /** The config files read, relative to the notes' folder. */
  files: string[];
  /** Indexes (in the service's volumes) of the mounts they came through. */
  mounts: number[];
}

/** Host paths start from `project` (compose's project folder); the files read are named relative to `dir`. */
export function readProxyConf(project: string, dir: string, mounts: Mount[], locOf: (m: Mount) => Loc): ProxyConf {
  const facts: NginxFacts = { locations: [], upstreams: new Map(), includes: [], tls: {} };
  const files: string[] = [];
  const seen = new Set<string>();
  const used = new Set<number>();
  const readOne = (host: string, m: Mount) => {
    used.add(m.index);
    const abs = path.resolve(project, host);
    if (seen.has(abs)) return;
    seen.add(abs);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (e) {
      throw composeError(locOf(m), `cannot read the nginx config ${host} (mounted at ${m.target}): ${errorMessage(e)}`);
    }
    const rel = relative(dir, abs);
    files.push(rel);
    try {
      nginxFacts(parseNginx(text), rel, facts);
    } catch (e) {
      throw composeError(locOf(m), `cannot read the nginx config ${rel}: ${errorMessage(e)}`);
    }
  };
  const readPath = (host: string, m: Mount, all: boolean) => {
    const abs = path.resolve(project, host);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch (e) {
      throw composeError(locOf(m), `cannot read the nginx config ${host} (mounted at ${m.target}): ${errorMessage(e)}`);
    }
    if (!isDir) return readOne(host, m);
    for (const f of readdirSync(abs).sort()) {
      const p = path.join(abs, f);
      if (statSync(p).isDirectory()) {
        if (all) readPath(path.join(host, f), m, false);
      } else if (isConf(f)) readOne(path.join(host, f), m);
    }
  };
  for (const m of mounts) {
    if (m.type !== 'bind' || m.source === undefined) continue;
    if (isConfMount(m.target)) readPath(m.source, m, m.target.replace(/\/$/, '') === CONF_DIR);
  }
  // Includes reach further files through the mounts; those from the image itself are left alone.
  for (let i = 0; i < facts.includes.length; i++) {
    const inc = facts.includes[i];
    if (!inc) continue;
    const target = path.posix.resolve(CONF_DIR, inc.pattern);
    const base = path.posix.basename(target);
    const found = hostPathOf(mounts, base.includes('*') ? path.posix.dirname(target) : target);
    if (!found) continue;
    if (base.includes('*')) {
      const re = new RegExp(`^${base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
      let names: string[] = [];
      try {
        names = readdirSync(path.resolve(project, found.host)).sort();
      } catch {
        continue;
      }
      for (const f of names) if (re.test(f)) readOne(path.join(found.host, f), found.mount);
    } else readOne(found.host, found.mount);
  }
  return { facts, files, mounts: [...used] };
}
