/** The proxy as the engine uses it: started (or restarted with its saved colour) from the config. */
import fs from 'node:fs/promises';
import { COLOURS } from '../config/schema.js';
import { ensureSupervisor } from '../runtime/supervisor-pid.js';
import type { Engine } from './context.js';

/**
 * Ensures the proxy runs, and that it knows where BOTH colours will be reached: a proxy that
 * names its backends in its configuration (nginx) is then complete from the start, and deploying
 * the other colour later changes nothing in it (no reload, which would drop keep-alive requests).
 */
export async function openProxy(e: Engine, opts: { hold?: string; skipUnreachable?: boolean } = {}) {
  const p = await e.proxy.ensure(opts);
  // Serving again: the supervisor keeps it so from now on (down had stopped it on purpose).
  await fs.rm(e.paths.proxyStopped, { force: true });
  // Like a dead proxy, a dead supervisor is brought back by any command. It keeps the proxy
  // running too (run/proxy-keeper.ts), whatever the runtime, unless proxy.restart is never.
  if (e.runtime.supervise) await e.runtime.supervise();
  else if (e.proxy.gone && e.loaded.config.proxy.restart !== 'never') await ensureSupervisor(e.paths, e.loaded.file);
  for (const n of p.notes ?? []) e.reporter.warn(n);
  for (const c of COLOURS) {
    if (p.status.backends[c] === undefined || Object.keys(p.status.backends[c]!).length === 0) {
      await p.control.setBackends(c, await (e.runtime.backends ?? e.runtime.plannedEndpoints)(c));
    }
  }
  return p;
}
