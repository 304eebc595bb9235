/** The proxy as the engine uses it: started (or restarted with its saved colour) from the config. */
import { COLOURS } from '../config/schema.js';
import type { Engine } from './context.js';

/**
 * Ensures the proxy runs, and that it knows where BOTH colours will be reached: a proxy that
 * names its backends in its configuration (nginx) is then complete from the start, and deploying
 * the other colour later changes nothing in it (no reload, which would drop keep-alive requests).
 */
export async function openProxy(e: Engine, opts: { hold?: string } = {}) {
  const p = await e.proxy.ensure(opts);
  // Like a dead proxy, a dead supervisor is brought back by any command.
  await e.runtime.supervise?.();
  for (const n of p.notes ?? []) e.reporter.warn(n);
  for (const c of COLOURS) {
    if (p.status.backends[c] === undefined || Object.keys(p.status.backends[c]!).length === 0) {
      await p.control.setBackends(c, await e.runtime.plannedEndpoints(c));
    }
  }
  return p;
}
