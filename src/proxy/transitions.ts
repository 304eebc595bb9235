/**
 * The proxy's changes of state, written once for both proxies: the routing state and a command in,
 * the next routing state or a refusal out. Pure: no I/O, no clock (maintenance gets the time from
 * its caller). The built-in proxy applies the result by saving its snapshot and swapping its table
 * in one step; nginx applies it through the files it tests per request (flag, split, maintenance,
 * watch), or re-renders and reloads for routes, backends and features. Either way, a command one
 * proxy refuses is refused by the other with the same words (test/integration/proxy-transitions).
 *
 * Input is validated before it gets here (each proxy checks what reaches it: the built-in proxy's
 * control socket takes JSON from any local client); these functions check only how a command fits
 * the current state.
 */
import type { Colour, Route } from '../config/schema.js';
import { isColour, otherColour } from '../config/schema.js';
import type { ProxyFeatures } from './features.js';
import { SwitchyardError } from '../errors.js';
import { DEFAULT_MAINTENANCE_MESSAGE } from './maintenance-page.js';
import type { Backends, Canary, Maintenance } from './types.js';

/** What every proxy routes by: the part of its state that control calls change. */
export interface Routing {
  routes: Route[];
  backends: Partial<Record<Colour, Backends>>;
  active: Colour | null;
  canary: Canary | null;
  maintenance: Maintenance | null;
  watching: boolean;
  features: ProxyFeatures;
}

export type ProxyCommand =
  | { kind: 'configure'; routes: Route[]; features?: ProxyFeatures }
  | { kind: 'set-backends'; colour: Colour; backends: Backends }
  | { kind: 'switch'; colour: Colour }
  /** `percent` 0..99 (checked by the caller); 0 ends a split. */
  | { kind: 'weight'; colour: Colour; percent: number }
  /** `now`: ISO time, the start of maintenance when it was off. */
  | { kind: 'maintenance-on'; message?: string; now: string }
  | { kind: 'maintenance-off' }
  | { kind: 'watch'; on: boolean }
  /** Changes nothing: a drain is refused while the colour still gets traffic. */
  | { kind: 'drain'; colour: Colour };

/** Why a command does not fit the current state, and what to do instead. */
export interface Refusal {
  message: string;
  hint: string;
}

export type Outcome = { ok: true; next: Routing } | { ok: false; refusal: Refusal };

/** The input check both proxies make of a colour (the built-in proxy's control socket takes any JSON). */
export function checkColour(v: unknown): Colour {
  if (!isColour(v)) {
    throw new SwitchyardError('PROXY_FAILED', `invalid proxy colour ${JSON.stringify(v)}: expected "blue" or "green"`);
  }
  return v;
}

/** The input check both proxies make of a split's percentage: an integer 0..99 (a full switch is switchTo, not 100). */
export function checkPercent(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 99) {
    throw new SwitchyardError(
      'PROXY_FAILED',
      `invalid proxy canary percent ${JSON.stringify(v)}: expected an integer 0..99` +
        ' (0 ends the split; to send everyone, switch)',
    );
  }
  return v;
}

const refuse = (message: string, hint: string): Outcome => ({ ok: false, refusal: { message, hint } });

/** The routed services `colour` has no backend for (it could not serve them). */
export function missingBackends(r: Routing, colour: Colour): string[] {
  const have = r.backends[colour] ?? {};
  return [...new Set(r.routes.map((x) => x.service))].filter((svc) => have[svc] === undefined);
}

function needsBackends(r: Routing, colour: Colour, what: string): Outcome | undefined {
  const missing = missingBackends(r, colour);
  if (missing.length === 0) return undefined;
  return refuse(
    `cannot ${what} ${colour}: no backend for ${missing.map((m) => JSON.stringify(m)).join(', ')}`,
    `start ${colour} first (deploy and rollback do) so its backends are known to the proxy`,
  );
}

export function transition(r: Routing, c: ProxyCommand): Outcome {
  switch (c.kind) {
    case 'configure':
      return { ok: true, next: { ...r, routes: c.routes, ...(c.features ? { features: c.features } : {}) } };
    case 'set-backends':
      return { ok: true, next: { ...r, backends: { ...r.backends, [c.colour]: c.backends } } };
    case 'switch':
      // A switch ends any split: every client goes to the colour switched to.
      return needsBackends(r, c.colour, 'switch to') ?? { ok: true, next: { ...r, active: c.colour, canary: null } };
    case 'weight': {
      if (c.percent === 0) return { ok: true, next: { ...r, canary: null } };
      const what = `send ${c.percent}% to`;
      if (r.active === null) {
        return refuse(`cannot ${what} ${c.colour}: no colour is active yet`, 'switch to a colour first (init does)');
      }
      if (r.active === c.colour) {
        return refuse(
          `cannot ${what} ${c.colour}: it is the active colour`,
          `a split sends part of the clients to the inactive colour (${otherColour(c.colour)}); ` +
            'to move everyone, switch',
        );
      }
      return (
        needsBackends(r, c.colour, what) ?? {
          ok: true,
          next: { ...r, canary: { colour: c.colour, percent: c.percent } },
        }
      );
    }
    case 'maintenance-on': {
      // Already on: a new message replaces the old one, and `since` stays.
      const since = r.maintenance?.since ?? c.now;
      return { ok: true, next: { ...r, maintenance: { message: c.message ?? DEFAULT_MAINTENANCE_MESSAGE, since } } };
    }
    case 'maintenance-off':
      return { ok: true, next: { ...r, maintenance: null } };
    case 'watch':
      return { ok: true, next: { ...r, watching: c.on } };
    case 'drain':
      if (r.active === c.colour) {
        return refuse(`cannot drain ${c.colour}: it is the active colour`, 'switch to the other colour first');
      }
      if (r.canary?.colour === c.colour) {
        return refuse(
          `cannot drain ${c.colour}: a canary split still sends it ${r.canary.percent}% of clients`,
          'end the split first (weight 0), or switch',
        );
      }
      return { ok: true, next: r };
  }
}

/** The next routing state, or the refusal thrown as PROXY_FAILED (what both proxies' control calls answer). */
export function applyCommand(r: Routing, c: ProxyCommand): Routing {
  const o = transition(r, c);
  if (!o.ok) throw new SwitchyardError('PROXY_FAILED', o.refusal.message, { hint: o.refusal.hint });
  return o.next;
}
