/** Reads the world into Facts for the planner: state files, the runtime and the proxy. */
import type { Colour } from '../config/schema.js';
import type { Facts } from '../plan/facts.js';
import type { ProxyStatus } from '../proxy/types.js';
import { readLock } from '../state/lock.js';
import { readCurrentEnv, readState } from '../state/state.js';
import type { Engine } from './context.js';

export interface World extends Facts {
  proxy: ProxyStatus | undefined;
}

export async function colourRunning(e: Engine, c: Colour): Promise<boolean> {
  const st = await e.runtime.status(c);
  return st.some((s) => s.running);
}

export async function gatherFacts(e: Engine, opts: { ownLock?: boolean } = {}): Promise<World> {
  const [state, currentEnv, proxy, lock, blue, green] = await Promise.all([
    readState(e.paths),
    readCurrentEnv(e.paths),
    e.proxy.alive(),
    readLock(e.paths),
    colourRunning(e, 'blue'),
    colourRunning(e, 'green'),
  ]);
  const running = { blue, green } as Record<Colour, boolean>;
  return {
    state,
    currentEnv,
    running,
    proxy,
    proxyActive: proxy ? proxy.active : undefined,
    lockHeld: !opts.ownLock && !!lock?.alive,
  };
}
