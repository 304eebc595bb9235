/**
 * The daemon's persistent state: everything needed to come back serving the same colour after a
 * restart. Written atomically after every change, before the change is acknowledged.
 */
import type { Colour, Route } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import type { ProxyFeatures } from '../features.js';
import type { Backends, Canary, Maintenance } from '../types.js';
import { checkColour } from '../transitions.js';
import { checkBoolean, checkCanary, checkFeatures, checkMaintenanceState } from './features-check.js';

export interface Listen {
  host: string;
  port: number;
}

export interface ProxySnapshot {
  listen: Listen;
  routes: Route[];
  backends: Partial<Record<Colour, Backends>>;
  active: Colour | null;
  /** Largest request body forwarded, in bytes (0 = no limit); absent = the default. */
  maxBodySize?: number;
  /** A weighted split to the inactive colour; absent/null = none. */
  canary?: Canary | null;
  /** Maintenance mode; absent/null = off. */
  maintenance?: Maintenance | null;
  /** Per-colour counting on (the counts themselves are not persisted). */
  watching?: boolean;
  /** Preview listener, stickiness, allowlist; absent = NO_FEATURES. */
  features?: ProxyFeatures;
  /** Processes serving traffic (proxy.workers), read when the daemon starts; absent = 1. */
  workers?: number;
}

function fail(what: string): never {
  throw new SwitchyardError('PROXY_FAILED', `invalid proxy ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown, allowZero = false): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= (allowZero ? 0 : 1) && v <= 65535;

export function checkListen(v: unknown): Listen {
  // Port 0 (any free port) is accepted for tests that run the server in-process.
  if (!isObject(v) || typeof v.host !== 'string' || v.host === '' || !isPort(v.port, true)) fail('listen address');
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

export function checkBackends(v: unknown): Backends {
  if (!isObject(v)) fail('backends: expected { service: { host, port } }');
  const out: Backends = {};
  for (const [service, e] of Object.entries(v)) {
    if (!isObject(e) || typeof e.host !== 'string' || e.host === '' || !isPort(e.port))
      fail(`backend for "${service}": expected { host, port }`);
    out[service] = { host: e.host, port: e.port };
  }
  return out;
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
  if (!isObject(v)) fail('state: expected an object');
  const backends: Partial<Record<Colour, Backends>> = {};
  if (v.backends !== undefined) {
    if (!isObject(v.backends)) fail('state: backends');
    for (const [c, b] of Object.entries(v.backends)) backends[checkColour(c)] = checkBackends(b);
  }
  const active = v.active === null || v.active === undefined ? null : checkColour(v.active);
  const snap: ProxySnapshot = { listen: checkListen(v.listen), routes: checkRoutes(v.routes), backends, active };
  if (v.maxBodySize !== undefined) snap.maxBodySize = checkMaxBodySize(v.maxBodySize);
  if (v.canary !== undefined) snap.canary = checkCanary(v.canary);
  if (v.maintenance !== undefined) snap.maintenance = checkMaintenanceState(v.maintenance);
  if (v.watching !== undefined) snap.watching = checkBoolean(v.watching, 'state: watching');
  if (v.features !== undefined) snap.features = checkFeatures(v.features);
  if (v.workers !== undefined) snap.workers = checkWorkers(v.workers);
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
