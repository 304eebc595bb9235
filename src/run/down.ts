/** down: stop every colour and the proxy (or one idle colour). Shared data and releases stay. */
import fs from 'node:fs/promises';
import { COLOURS, type Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { stopProxy } from '../proxy/launch.js';
import { appendHistory, whoAmI } from '../state/history.js';
import { acquireLock } from '../state/lock.js';
import { readState, withColourStatus, writeState } from '../state/state.js';
import type { Engine } from './context.js';
import { newOperationId } from './steps.js';

export async function down(e: Engine, opts: { colour?: Colour; forceUnlock?: boolean } = {}): Promise<string[]> {
  const lock = await acquireLock(e.paths, 'down', { forceUnlock: opts.forceUnlock });
  const t0 = Date.now();
  const done: string[] = [];
  try {
    let state = await readState(e.paths);
    if (opts.colour) {
      if (state?.active === opts.colour) {
        throw new SwitchyardError('USAGE', `${opts.colour} is the active colour; stopping it would take the app offline`, {
          hint: 'use `switchyard down` (no colour) to stop everything, or switch traffic away first',
        });
      }
      await e.runtime.stop(opts.colour);
      if (state) await writeState(e.paths, withColourStatus(state, opts.colour, 'stopped'));
      return [`stopped ${opts.colour}`];
    }
    if (await stopProxy(e.paths)) done.push('stopped the proxy');
    for (const c of COLOURS) {
      await e.runtime.stop(c);
      done.push(`stopped ${c}`);
      if (state) state = withColourStatus(state, c, 'stopped');
    }
    // The proxy starts clean next time (no colour active until init activates one).
    await fs.rm(e.paths.proxyState, { force: true });
    if (state) await writeState(e.paths, { ...state, active: null });
    await appendHistory(e.paths, { id: newOperationId(), type: 'down', time: new Date(t0).toISOString(), who: whoAmI(), from: state?.active ?? null, to: null, release: null, result: 'success', ms: Date.now() - t0 }, e.redact);
    return done;
  } finally {
    await lock.release();
  }
}
