/**
 * What a service is when its image name does not say (a locally built database, nginx run from a
 * general image): only signs that are cheap to read and unambiguous. A database: the variables its
 * official image reads (POSTGRES_*, MYSQL_*, MARIADB_*, none of a client's such as *_HOST), a volume
 * at its data folder, a healthcheck by its own client on this container (pg_isready, redis-cli), or
 * a command that starts the server. nginx: a command or entrypoint that runs nginx, or a mount into
 * /etc/nginx. Each sign comes with the words of the note that says why.
 */
import path from 'node:path';
import { shellWords } from './keys.js';
import { parseMount } from './mounts.js';
import { isMap, type Json, type JsonMap } from './types.js';

export interface DatabaseSigns {
  /** postgres, mysql, mariadb or redis. */
  kind: string;
  reasons: string[];
}

/** The variables each official image reads itself (a client's, such as POSTGRES_HOST, are not among them). */
const serverVars = (prefix: string, names: string, suffix = '_FILE') =>
  new RegExp(`^${prefix}_(${names.trim().split(/\s+/).join('|')})(${suffix})?$`);
const SERVER_VARS: [string, RegExp][] = [
  ['postgres', serverVars('POSTGRES', 'PASSWORD USER DB INITDB_ARGS INITDB_WALDIR HOST_AUTH_METHOD')],
  [
    'mysql',
    serverVars(
      'MYSQL',
      `ROOT_PASSWORD DATABASE USER PASSWORD ALLOW_EMPTY_PASSWORD RANDOM_ROOT_PASSWORD ONETIME_PASSWORD ROOT_HOST
      INITDB_SKIP_TZINFO`,
    ),
  ],
  [
    'mariadb',
    serverVars(
      'MARIADB',
      `ROOT_PASSWORD DATABASE USER PASSWORD ALLOW_EMPTY_ROOT_PASSWORD RANDOM_ROOT_PASSWORD ROOT_HOST AUTO_UPGRADE
      INITDB_SKIP_TZINFO`,
      '_FILE|_HASH',
    ),
  ],
];
const DATA_DIRS: Record<string, string> = {
  '/var/lib/postgresql/data': 'postgres',
  '/var/lib/postgresql': 'postgres',
  '/var/lib/mysql': 'mysql',
};
const HEALTH_TOOLS: Record<string, string> = { pg_isready: 'postgres', 'redis-cli': 'redis' };
const SERVERS: Record<string, string> = {
  postgres: 'postgres',
  mysqld: 'mysql',
  mariadbd: 'mariadb',
  'redis-server': 'redis',
};
/** mysql and mariadb read each other's variables and data folder: one family. */
const family = (kind: string) => (kind === 'mariadb' ? 'mysql' : kind);
const LOCAL = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0']);

/** The words of `command` / `entrypoint` (a string split as compose does, or a list). */
export function words(v: Json | undefined): string[] {
  if (typeof v === 'string') return shellWords(v);
  return Array.isArray(v) ? v.map(String) : [];
}

/** The program a command or entrypoint runs: "nginx" for ["/usr/sbin/nginx", "-g", ...]. */
export const program = (v: Json | undefined) => path.posix.basename(words(v)[0] ?? '');

function healthWords(svc: JsonMap): string[] {
  const t = isMap(svc.healthcheck) ? svc.healthcheck.test : undefined;
  const list = typeof t === 'string' ? [t] : Array.isArray(t) ? t.map(String) : [];
  return list.flatMap((s) => s.split(/[\s;|&()]+/)).filter(Boolean);
}

/** A healthcheck by the database's own client, on this container (not `-h` another host). */
function healthKind(svc: JsonMap): string | undefined {
  const w = healthWords(svc);
  const tool = w.find((x) => HEALTH_TOOLS[path.posix.basename(x)]);
  if (!tool) return undefined;
  for (let i = 0; i < w.length; i++) {
    const host = w[i] === '-h' || w[i] === '--host' ? w[i + 1] : /^(?:-h|--host=)(.+)$/.exec(w[i] ?? '')?.[1];
    if (host !== undefined && !LOCAL.has(host)) return undefined;
  }
  return HEALTH_TOOLS[path.posix.basename(tool)];
}

export function databaseSigns(svc: JsonMap): DatabaseSigns | undefined {
  const found: { kind: string; why: string }[] = [];
  const env = isMap(svc.environment) ? Object.keys(svc.environment) : [];
  for (const [kind, re] of SERVER_VARS) {
    const prefix = `${kind.toUpperCase()}_`;
    const own = env.filter((k) => k.startsWith(prefix));
    if (own.length && own.every((k) => re.test(k))) found.push({ kind, why: `${prefix}* variables` });
  }
  for (const [i, v] of (Array.isArray(svc.volumes) ? svc.volumes : []).entries()) {
    const target = parseMount(v, i)?.target.replace(/(.)\/+$/, '$1');
    const kind = target === undefined ? undefined : DATA_DIRS[target];
    if (kind) found.push({ kind, why: `a volume at ${target}` });
  }
  const health = healthKind(svc);
  if (health) found.push({ kind: health, why: `a ${health === 'redis' ? 'redis-cli' : 'pg_isready'} healthcheck` });
  for (const key of ['entrypoint', 'command']) {
    const kind = SERVERS[program(svc[key])];
    if (kind) {
      found.push({ kind, why: `${key} ${program(svc[key])}` });
      break;
    }
  }
  if (!found.length || new Set(found.map((f) => family(f.kind))).size > 1) return undefined;
  const kind = found.some((f) => f.kind === 'mariadb') ? 'mariadb' : (found[0] as { kind: string }).kind;
  return { kind, reasons: found.map((f) => f.why) };
}

/** Why a service (one without `build`) is an nginx, or nothing. */
export function nginxSigns(svc: JsonMap): string[] {
  const out: string[] = [];
  for (const key of ['entrypoint', 'command'])
    if (program(svc[key]) === 'nginx' && !out.length) out.push(`${key} nginx`);
  for (const [i, v] of (Array.isArray(svc.volumes) ? svc.volumes : []).entries()) {
    const target = parseMount(v, i)?.target;
    if (target && (target === '/etc/nginx' || target.startsWith('/etc/nginx/'))) {
      out.push(`a config mounted at ${target}`);
      break;
    }
  }
  return out;
}

/** "a", "a and b", "a, b and c". */
export function listed(reasons: string[]): string {
  return reasons.length < 2 ? (reasons[0] ?? '') : `${reasons.slice(0, -1).join(', ')} and ${reasons.at(-1)}`;
}
