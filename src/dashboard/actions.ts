/**
 * The page's actions, each through the same library functions as the CLI (run/switch.ts,
 * run/rollback.ts, run/maintenance.ts, run/canary-control.ts): the same lock, checks and history
 * records, which name the dashboard as their origin. Promote and abort take no lock: they ask the
 * deploy that holds it to end its canary step (docs/traffic.md). The page asked for confirmation
 * before sending, so rollback runs as `rollback --force` would (there is no terminal here to ask on).
 */
import { isColour, type Colour } from '../config/schema.js';
import { errorMessage, isSwitchyardError } from '../errors.js';
import type { Engine } from '../run/context.js';
import { canaryControl } from '../run/canary-control.js';
import { maintenance } from '../run/maintenance.js';
import { rollback } from '../run/rollback.js';
import { switchTraffic } from '../run/switch.js';
import { HttpError } from './body.js';

export const ACTIONS = ['switch', 'rollback', 'maintenance', 'promote', 'abort'] as const;
export type ActionName = (typeof ACTIONS)[number];

export const isAction = (s: string): s is ActionName => (ACTIONS as readonly string[]).includes(s);

export interface ActionResult {
  ok: boolean;
  action: ActionName;
  result?: unknown;
  /** A refusal or failure: the library's message (a held lock names its owner), code and hint. */
  error?: { message: string; code?: string; hint?: string };
}

/** Checks the body's fields for an action; 400 with what is wrong. */
export function actionArgs(
  action: ActionName,
  body: Record<string, unknown>,
): { colour?: Colour; weight?: number; on?: boolean; message?: string } {
  if (action === 'switch') {
    const { colour, weight } = body;
    if (typeof colour !== 'string' || !isColour(colour))
      throw new HttpError(400, 'switch needs "colour": blue or green');
    if (weight !== undefined && !(Number.isInteger(weight) && (weight as number) >= 0 && (weight as number) <= 100))
      throw new HttpError(400, '"weight" must be an integer 0..100');
    return { colour, ...(weight !== undefined ? { weight: weight as number } : {}) };
  }
  if (action === 'maintenance') {
    const { on, message } = body;
    if (typeof on !== 'boolean') throw new HttpError(400, 'maintenance needs "on": true or false');
    if (message !== undefined && typeof message !== 'string') throw new HttpError(400, '"message" must be a string');
    return { on, ...(message !== undefined ? { message } : {}) };
  }
  return {};
}

/** One action at a time from this dashboard; the project's lock orders it against every other command. */
let busy = false;

export async function runAction(
  e: Engine,
  action: ActionName,
  body: Record<string, unknown>,
): Promise<{ status: number; body: ActionResult }> {
  const args = actionArgs(action, body);
  if (busy) return refused(action, 409, 'another action from this dashboard is still running');
  busy = true;
  try {
    let result: unknown;
    if (action === 'switch')
      result = await switchTraffic(e, args.colour!, args.weight !== undefined ? { weight: args.weight } : {});
    else if (action === 'rollback') result = await rollback(e, { force: true });
    else if (action === 'promote' || action === 'abort') result = await canaryControl(e, action);
    else result = await maintenance(e, args.on!, args.message);
    return { status: 200, body: { ok: true, action, result } };
  } catch (err) {
    if (!isSwitchyardError(err)) return refused(action, 500, e.redact(errorMessage(err)));
    const conflict = ['LOCKED', 'LOCK_STALE', 'NO_CANARY'].includes(err.code);
    const status = conflict ? 409 : err.exitCode === 2 ? 400 : 422;
    return {
      status,
      body: {
        ok: false,
        action,
        error: { message: e.redact(err.message), code: err.code, ...(err.hint ? { hint: e.redact(err.hint) } : {}) },
      },
    };
  } finally {
    busy = false;
  }
}

function refused(action: ActionName, status: number, message: string) {
  return { status, body: { ok: false, action, error: { message } } };
}
