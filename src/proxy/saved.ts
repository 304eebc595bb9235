/**
 * The routing state every proxy saves, so it comes back after a restart serving what it served,
 * and its one check. The built-in proxy saves all of it in its snapshot (with its listen address,
 * routes, body limit and workers); nginx saves the colour, backends and features in its state.json
 * and keeps the split, maintenance and counting in the files it tests per request. Both read
 * their file through checkSavedRouting, so a hand-edited or truncated file is refused with the
 * same words whichever proxy reads it.
 */
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { ProxyFeatures } from './features.js';
import { checkBoolean, checkCanary, checkFeatures, checkMaintenanceState } from './features-check.js';
import { checkColour } from './transitions.js';
import type { Backends, Canary, Maintenance } from './types.js';

export interface SavedRouting {
  backends: Partial<Record<Colour, Backends>>;
  active: Colour | null;
  /** A weighted split to the inactive colour; absent/null = none. */
  canary?: Canary | null;
  /** Maintenance mode; absent/null = off. */
  maintenance?: Maintenance | null;
  /** Per-colour counting on (the counts themselves are not saved). */
  watching?: boolean;
  /** Preview listener, stickiness, allowlist; absent = NO_FEATURES (or, for nginx, never recorded). */
  features?: ProxyFeatures;
}

function fail(what: string): never {
  throw new SwitchyardError('PROXY_FAILED', `invalid proxy ${what}`);
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isPort = (v: unknown, allowZero = false): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= (allowZero ? 0 : 1) && v <= 65535;

/**
 * `{ service: [{ host, port }, ...] }`, one address per instance. A single `{ host, port }` (what
 * a proxy saved before services had instances) is read as a list of one, so an upgrade keeps the
 * saved routing.
 */
export function checkBackends(v: unknown): Backends {
  if (!isObject(v)) fail('backends: expected { service: [{ host, port }, ...] }');
  const out: Backends = {};
  const endpoint = (service: string, e: unknown) => {
    if (!isObject(e) || typeof e.host !== 'string' || e.host === '' || !isPort(e.port))
      fail(`backend for "${service}": expected a list of { host, port }`);
    return { host: e.host, port: e.port };
  };
  for (const [service, e] of Object.entries(v)) {
    const list = Array.isArray(e) ? e : [e];
    if (list.length === 0) fail(`backend for "${service}": expected at least one { host, port }`);
    out[service] = list.map((x) => endpoint(service, x));
  }
  return out;
}

/** The saved routing state in `v` (an object read from a file); other keys are the caller's. */
export function checkSavedRouting(v: unknown): SavedRouting {
  if (!isObject(v)) fail('state: expected an object');
  const backends: Partial<Record<Colour, Backends>> = {};
  if (v.backends !== undefined) {
    if (!isObject(v.backends)) fail('state: backends');
    for (const [c, b] of Object.entries(v.backends)) backends[checkColour(c)] = checkBackends(b);
  }
  const active = v.active === null || v.active === undefined ? null : checkColour(v.active);
  const saved: SavedRouting = { backends, active };
  if (v.canary !== undefined) saved.canary = checkCanary(v.canary);
  if (v.maintenance !== undefined) saved.maintenance = checkMaintenanceState(v.maintenance);
  if (v.watching !== undefined) saved.watching = checkBoolean(v.watching, 'state: watching');
  if (v.features !== undefined) saved.features = checkFeatures(v.features);
  return saved;
}
