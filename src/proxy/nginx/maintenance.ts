/**
 * Maintenance mode as files: nginx answers 503 with maintenance.html to everyone outside the
 * allowlist while maintenance.on exists (tested per request, no reload). The page is written
 * before the flag, so it is complete when the first 503 is served; the flag carries the message
 * and the time it was turned on, for status().
 */
import fs from 'node:fs/promises';
import { readJson, writeFileAtomic, writeJsonAtomic } from '../../state/atomic.js';
import { checkMaintenanceMessage, DEFAULT_MAINTENANCE_MESSAGE, maintenancePage } from '../maintenance-page.js';
import type { Maintenance } from '../types.js';
import type { NginxFiles } from './files.js';

export async function readMaintenance(f: NginxFiles): Promise<Maintenance | null> {
  const st = await fs.stat(f.maintenanceFlag).catch(() => undefined);
  if (!st) return null;
  const v = await readJson<Partial<Maintenance>>(f.maintenanceFlag).catch(() => undefined);
  // A flag made by hand (touch) is still maintenance: nginx answers 503 whatever it holds.
  return {
    message: typeof v?.message === 'string' ? v.message : DEFAULT_MAINTENANCE_MESSAGE,
    since: typeof v?.since === 'string' ? v.since : st.mtime.toISOString(),
  };
}

/** On, as the transition decided it (a new message while on keeps `since`: proxy/transitions.ts). */
export async function maintenanceOn(f: NginxFiles, m: Maintenance): Promise<void> {
  const { message, since } = m;
  checkMaintenanceMessage(message);
  // The workers read the page; it is no secret (the same text every blocked client gets).
  await writeFileAtomic(f.maintenancePage, maintenancePage(message), 0o644);
  // nginx only stats the flag: owner-only is enough.
  await writeJsonAtomic(f.maintenanceFlag, { message, since } satisfies Maintenance, 0o600);
}

export async function maintenanceOff(f: NginxFiles): Promise<void> {
  await fs.rm(f.maintenanceFlag, { force: true });
}
