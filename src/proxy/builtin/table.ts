/**
 * The routing table: everything a request needs to pick its destination, built once per change
 * from the snapshot and swapped in one assignment, so a request sees the whole old state or the
 * whole new one. decide() is the one place where a request's colour is chosen, once, at its start
 * (with the instance of its service: balance.ts; a retry may change the instance, never the colour).
 */
import type { IncomingMessage } from 'node:http';
import type { Colour, Route } from '../../config/schema.js';
import { COLOURS } from '../../config/schema.js';
import { DEFAULT_MAX_BODY_SIZE } from '../../config/proxy-schema.js';
import { DEFAULT_MAINTENANCE_MESSAGE } from '../maintenance-page.js';
import { NO_FEATURES, type ProxyFeatures } from '../features.js';
import { routeFor, sortRoutes } from '../../config/routes.js';
import type { Endpoint } from '../../runtime/types.js';
import type { Canary } from '../types.js';
import { InstanceGroup } from './balance.js';
import type { ForwardTarget } from './forward.js';
import { Allowlist, MaintenanceReply } from './maintenance.js';
import { urlOf } from '../../checks/http.js';
import { NO_PREVIEW_TEXT, PreviewMatcher } from './preview.js';
import type { ProxySnapshot } from './snapshot.js';
import { chooseSticky } from './sticky.js';

/** One instance of a service in a colour. */
export interface Target extends ForwardTarget {
  /** The same backend as ws:// for upgrades. */
  ws: string;
  group: InstanceGroup<Target>;
}

export interface Table {
  active: Colour | null;
  sorted: Route[];
  /** Per colour and service, its instances; a request picks one (balance.ts). */
  targets: Record<Colour, Map<string, InstanceGroup<Target>>>;
  /** Bytes; 0 = no limit. */
  maxBodySize: number;
  /** Only a split that can apply (colour other than the active one, percent > 0). */
  canary: Canary | null;
  /** The 503 to send while maintenance is on, else null. */
  maintenance: MaintenanceReply | null;
  allow: Allowlist;
  matcher: PreviewMatcher | null;
  features: ProxyFeatures;
}

function groupOf(colour: Colour, endpoints: readonly Endpoint[]): InstanceGroup<Target> {
  const items: Target[] = [];
  const group = new InstanceGroup(items);
  for (const e of endpoints) {
    const origin = urlOf(e);
    items.push({ colour, origin, ws: origin.replace(/^http/, 'ws'), group });
  }
  return group;
}

/** The split that applies: toward the colour that is not active, over 0%; null otherwise. */
export function liveCanary(snap: ProxySnapshot): Canary | null {
  const c = snap.canary ?? null;
  return c !== null && c.percent > 0 && snap.active !== null && c.colour !== snap.active ? c : null;
}

export function buildTable(snap: ProxySnapshot): Table {
  const targets: Record<Colour, Map<string, InstanceGroup<Target>>> = { blue: new Map(), green: new Map() };
  for (const colour of COLOURS) {
    for (const [service, endpoints] of Object.entries(snap.backends[colour] ?? {})) {
      if (endpoints.length > 0) targets[colour].set(service, groupOf(colour, endpoints));
    }
  }
  const features = snap.features ?? NO_FEATURES;
  const m = snap.maintenance ?? null;
  return {
    active: snap.active,
    sorted: sortRoutes(snap.routes),
    targets,
    maxBodySize: snap.maxBodySize ?? DEFAULT_MAX_BODY_SIZE,
    canary: liveCanary(snap),
    maintenance:
      m === null ? null : new MaintenanceReply(m.message || DEFAULT_MAINTENANCE_MESSAGE, features.retryAfterS),
    allow: new Allowlist(features.maintenanceAllow),
    matcher: features.previewMatch === null ? null : new PreviewMatcher(features.previewMatch),
    features,
  };
}

export type Decision =
  | { kind: 'reply'; status: number; text: string; colour?: Colour }
  | { kind: 'maintenance'; reply: MaintenanceReply }
  /**
   * `counted`: goes into the traffic stats (public, not preview). `extra`: response header pairs.
   * `route`: the path of the route it matched, as configured (the metrics' route label).
   */
  | { kind: 'forward'; target: Target; counted: boolean; extra: string[] | undefined; route: string };

const NOT_ACTIVE: Decision = { kind: 'reply', status: 503, text: 'Service Unavailable: no environment is active yet' };
const NO_PREVIEW: Decision = { kind: 'reply', status: 503, text: NO_PREVIEW_TEXT };

const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');

function noBackend(service: string, colour: Colour): Decision {
  return {
    kind: 'reply',
    status: 503,
    text: `Service Unavailable: no backend for service "${service}" in ${colour}`,
    colour,
  };
}

/** The inactive colour's target for `route`: what the preview listener and the preview match serve. */
function preview(t: Table, route: Route): Decision {
  if (t.active === null) return NO_PREVIEW;
  const colour = other(t.active);
  const byService = t.targets[colour];
  if (byService.size === 0) return NO_PREVIEW;
  const group = byService.get(route.service);
  return group === undefined
    ? noBackend(route.service, colour)
    : { kind: 'forward', target: group.pick(), counted: false, extra: undefined, route: route.path };
}

/**
 * Where a request goes. `listener`: the public one (maintenance, preview match, canary split,
 * counted) or the preview one (always the inactive colour, never counted, never in maintenance).
 */
export function decide(t: Table, req: IncomingMessage, listener: 'public' | 'preview'): Decision {
  const isPublic = listener === 'public';
  if (isPublic && t.maintenance !== null && !t.allow.allows(req.socket.remoteAddress))
    return { kind: 'maintenance', reply: t.maintenance };
  const active = t.active;
  if (active === null) return isPublic ? NOT_ACTIVE : NO_PREVIEW;
  const url = req.url ?? '';
  // The colour named on the proxy's own answers: the one this listener serves.
  const shown = isPublic ? active : other(active);
  // Absolute-form ("http://host/x") and "*" targets are for forward proxies, not for us.
  if (url.charCodeAt(0) !== 47 /* / */)
    return { kind: 'reply', status: 400, text: 'Bad Request: expected a path starting with "/"', colour: shown };
  const route = routeFor(t.sorted, url);
  if (route === undefined)
    return { kind: 'reply', status: 404, text: 'Not Found: no route matches this path', colour: shown };
  if (!isPublic || t.matcher?.matches(req.rawHeaders)) return preview(t, route);
  let colour = active;
  let extra: string[] | undefined;
  const canary = t.canary;
  if (canary !== null) {
    const f = t.features;
    const pick = chooseSticky(req.rawHeaders, req.socket.remoteAddress, f.sticky, f.stickyCookie, canary.percent);
    if (pick.toCanary) colour = canary.colour;
    extra = pick.setCookie;
  }
  const group = t.targets[colour].get(route.service);
  return group === undefined
    ? noBackend(route.service, colour)
    : { kind: 'forward', target: group.pick(), counted: true, extra, route: route.path };
}
