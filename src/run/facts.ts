/** Reads the world into Facts for the planner: state files, the runtime and the proxy. */
import type { Colour } from '../config/schema.js';
import type { Facts } from '../plan/facts.js';
import type { ProxyStatus } from '../proxy/types.js';
import { readInterrupted } from '../state/journal.js';
import { readLock } from '../state/lock.js';
import { readCurrentEnv, readState } from '../state/state.js';
import type { Engine } from './context.js';

export interface World extends Facts {
  proxy: ProxyStatus | undefined;
}

/** Whether anything of the colour runs, and which of its services do not. */
async function colourFacts(e: Engine, c: Colour): Promise<{ running: boolean; missing: string[] }> {
  const st = await e.runtime.status(c);
  const running = st.some((s) => s.running);
  return { running, missing: running ? st.filter((s) => !s.running).map((s) => s.service) : [] };
}

export async function gatherFacts(e: Engine, opts: { ownLock?: boolean } = {}): Promise<World> {
  const [state, currentEnv, proxy, lock, blue, green, interrupted] = await Promise.all([
    readState(e.paths),
    readCurrentEnv(e.paths),
    e.proxy.alive(),
    readLock(e.paths),
    colourFacts(e, 'blue'),
    colourFacts(e, 'green'),
    readInterrupted(e.paths),
  ]);
  const running = { blue: blue.running, green: green.running } as Record<Colour, boolean>;
  const missing = { blue: blue.missing, green: green.missing } as Record<Colour, string[]>;
  return {
    state,
    currentEnv,
    running,
    missing,
    proxy,
    proxyActive: proxy ? proxy.active : undefined,
    proxyCanary: proxy?.canary ?? null,
    lockHeld: !opts.ownLock && !!lock?.alive,
    ...(interrupted ? { interrupted } : {}),
  };
}

/** Facts without the runtime or the proxy: down plans from them (an engine that is down must not block it). */
export async function gatherStateFacts(
  e: Engine,
  opts: { ownLock?: boolean } = {},
): Promise<Pick<Facts, 'state' | 'lockHeld' | 'interrupted'>> {
  const [state, lock, interrupted] = await Promise.all([
    readState(e.paths),
    readLock(e.paths),
    readInterrupted(e.paths),
  ]);
  return { state, lockHeld: !opts.ownLock && !!lock?.alive, ...(interrupted ? { interrupted } : {}) };
}
