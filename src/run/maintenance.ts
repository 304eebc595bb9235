/**
 * maintenance on|off: the proxy answers 503 with a page and Retry-After to everyone outside
 * proxy.maintenance.allow. Not a traffic move: it takes no lock (it may be needed while another
 * command runs), and is recorded in history.
 */
import { SwitchyardError } from '../errors.js';
import { DEFAULT_MAINTENANCE_MESSAGE } from '../proxy/maintenance-page.js';
import { appendHistory, whoAmI } from '../state/history.js';
import type { Engine } from './context.js';
import { openProxy } from './proxy.js';
import { newOperationId } from './steps.js';

export const MAX_MESSAGE = 2000;

export function checkMessage(m: string): string {
  if (m.length === 0 || m.length > MAX_MESSAGE) throw new SwitchyardError('USAGE', `the maintenance message must be 1-${MAX_MESSAGE} characters (got ${m.length})`);
  if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(m)) throw new SwitchyardError('USAGE', 'the maintenance message must not contain control characters');
  return m;
}

export async function maintenance(e: Engine, on: boolean, message?: string): Promise<{ on: boolean; message: string | null; allow: string[] }> {
  const t0 = performance.now();
  const text = on ? checkMessage(message ?? DEFAULT_MAINTENANCE_MESSAGE) : null;
  const { control } = await openProxy(e);
  await control.setMaintenance(on ? { on: true, message: text! } : { on: false });
  const cfg = e.loaded.config;
  await appendHistory(
    e.paths,
    { id: newOperationId(), type: 'maintenance', time: new Date().toISOString(), who: whoAmI(), from: null, to: null, release: null, result: 'success', reason: on ? `on: ${text}` : 'off', ms: Math.round(performance.now() - t0) },
    e.redact,
  );
  return { on, message: text, allow: [...cfg.proxy.maintenance.allow] };
}
