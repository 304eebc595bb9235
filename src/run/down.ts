/** down: stop every colour and the proxy (or one idle colour). Shared data and releases stay. */
import fs from 'node:fs/promises';
import { COLOURS, type Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { readState, withColourStatus, writeState } from '../state/state.js';
import type { Engine } from './context.js';
import { checkOptions, downOptions } from './options.js';
import { runOperation } from './operation.js';

export async function down(
  e: Engine,
  opts: { colour?: Colour; forceUnlock?: boolean; shared?: boolean; volumes?: boolean; yes?: boolean } = {},
): Promise<string[]> {
  checkOptions('down', downOptions, opts);
  if (opts.volumes && !opts.yes && !e.asker.interactive) {
    throw new SwitchyardError(
      'NEEDS_TTY',
      "down --volumes deletes the shared services' data and asks first, but there is no terminal to ask on",
      { hint: 'pass --yes as well if you really mean to delete the data' },
    );
  }
  return runOperation(e, 'down', { forceUnlock: opts.forceUnlock }, async (op) => {
    let state = await readState(e.paths);
    op.from = state?.active ?? null;
    if (opts.colour) {
      if (state?.active === opts.colour) {
        throw new SwitchyardError(
          'USAGE',
          `${opts.colour} is the active colour; stopping it would take the app offline`,
          {
            hint: 'use `switchyard down` (no colour) to stop everything, or switch traffic away first',
          },
        );
      }
      await e.runtime.stop(opts.colour);
      if (state) await writeState(e.paths, withColourStatus(state, opts.colour, 'stopped'));
      return [`stopped ${opts.colour}`];
    }
    const done: string[] = [];
    if (await e.proxy.stop()) done.push('stopped the proxy');
    for (const c of COLOURS) {
      await e.runtime.stop(c);
      done.push(`stopped ${c}`);
      if (state) state = withColourStatus(state, c, 'stopped');
    }
    if ((opts.shared || opts.volumes) && e.runtime.stopShared) {
      await e.runtime.stopShared();
      done.push(opts.volumes ? 'stopped the shared services' : 'stopped the shared services (their volumes are kept)');
    }
    if (opts.volumes && e.runtime.removeVolumes) {
      if (
        opts.yes ||
        (await e.asker.confirm('Delete the data volumes of the shared services? This cannot be undone.', false))
      ) {
        const gone = await e.runtime.removeVolumes();
        done.push(gone.length ? `deleted volumes ${gone.join(', ')}` : 'no volumes to delete');
      } else done.push('volumes kept (you answered no)');
    }
    // The proxy starts clean next time (no colour active until init activates one).
    await fs.rm(e.paths.proxyState, { force: true });
    if (state) await writeState(e.paths, { ...state, active: null });
    return done;
  });
}
