/**
 * maintenance on|off: the proxy answers 503 with a page and Retry-After to everyone outside
 * proxy.maintenance.allow. Not a traffic move: it takes no lock (it may be needed while another
 * command runs), and is recorded in history.
 */
import { checkMaintenanceMessage, DEFAULT_MAINTENANCE_MESSAGE } from '../proxy/maintenance-page.js';
import { appendHistory, whoAmI } from '../state/history.js';
import type { Engine } from './context.js';
import { openProxy } from './proxy.js';
import { newOperationId } from './steps.js';

export async function maintenance(
  e: Engine,
  on: boolean,
  message?: string,
): Promise<{ on: boolean; message: string | null; allow: string[] }> {
  const t0 = performance.now();
  const text = on ? checkMaintenanceMessage(message ?? DEFAULT_MAINTENANCE_MESSAGE, 'USAGE') : null;
  const { control } = await openProxy(e);
  await control.setMaintenance(on ? { on: true, message: text! } : { on: false });
  const cfg = e.loaded.config;
  await appendHistory(
    e.paths,
    {
      id: newOperationId(),
      type: 'maintenance',
      time: new Date().toISOString(),
      who: whoAmI(),
      from: null,
      to: null,
      release: null,
      result: 'success',
      reason: on ? `on: ${text}` : 'off',
      ms: Math.round(performance.now() - t0),
      ...(e.origin ? { origin: e.origin } : {}),
    },
    e.redact,
  );
  return { on, message: text, allow: [...cfg.proxy.maintenance.allow] };
}
