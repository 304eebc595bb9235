/**
 * The daemon's persistent state: everything needed to come back serving the same colour after a
 * restart. Written atomically after every change, before the change is acknowledged.
 */
import type { Route } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import { checkSavedRouting, isObject, isPort, type SavedRouting } from '../saved.js';

export interface Listen {
  host: string;
  port: number;
}

/** The built-in proxy's snapshot: the routing state every proxy saves (../saved.ts), and its own settings. */
export interface ProxySnapshot extends SavedRouting {
  listen: Listen;
  routes: Route[];
  /** Largest request body forwarded, in bytes (0 = no limit); absent = the default. */
  maxBodySize?: number;
  /** Processes serving traffic (proxy.workers), read when the daemon starts; absent = 1. */
  workers?: number;
  /** Where the daemon serves Prometheus metrics (proxy.metrics.listen), read when it starts; absent = none. */
  metrics?: Listen;
}

function fail(what: string): never {
  throw new SwitchyardError('PROXY_FAILED', `invalid proxy ${what}`);
}

export function checkListen(v: unknown, what = 'listen address'): Listen {
  // Port 0 (any free port) is accepted for tests that run the server in-process.
  if (!isObject(v) || typeof v.host !== 'string' || v.host === '' || !isPort(v.port, true)) fail(what);
  return { host: v.host, port: v.port };
}

export function checkRoutes(v: unknown): Route[] {
  if (!Array.isArray(v) || v.length === 0) fail('routes: expected a non-empty list');
  return v.map((r, i) => {
    if (
      !isObject(r) ||
      typeof r.path !== 'string' ||
      !r.path.startsWith('/') ||
      typeof r.service !== 'string' ||
      r.service === ''
    ) {
      fail(`route #${i + 1}: expected { path: "/...", service: "name" }`);
    }
    return { path: r.path, service: r.service };
  });
}

export function checkWorkers(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 64)
    fail('workers: expected a whole number of processes, at least 1');
  return v;
}

export function checkMaxBodySize(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail('maxBodySize: expected a number of bytes (0 = no limit)');
  return v;
}

export function checkSnapshot(v: unknown): ProxySnapshot {
  const saved = checkSavedRouting(v);
  const o = v as Record<string, unknown>;
  const snap: ProxySnapshot = { listen: checkListen(o.listen), routes: checkRoutes(o.routes), ...saved };
  if (o.maxBodySize !== undefined) snap.maxBodySize = checkMaxBodySize(o.maxBodySize);
  if (o.workers !== undefined) snap.workers = checkWorkers(o.workers);
  if (o.metrics !== undefined) snap.metrics = checkListen(o.metrics, 'metrics listen address');
  return snap;
}

export async function loadSnapshot(file: string): Promise<ProxySnapshot | undefined> {
  let raw: unknown;
  try {
    raw = await readJson<unknown>(file);
  } catch (e) {
    throw new SwitchyardError('PROXY_FAILED', `cannot read the proxy state ${file}`, {
      cause: e,
      hint: 'run `switchyard down` then the command again',
    });
  }
  return raw === undefined ? undefined : checkSnapshot(raw);
}

export function saveSnapshot(file: string, snap: ProxySnapshot): Promise<void> {
  return writeJsonAtomic(file, snap);
}
