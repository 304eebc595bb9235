/** down: stop every colour and the proxy (or one idle colour), planned by plan/down.ts. Data and releases stay. */
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { Plan } from '../plan/actions.js';
import { assembleDown, type DownInput } from '../plan/down.js';
import type { Engine } from './context.js';
import { execute } from './execute.js';
import { gatherStateFacts } from './facts.js';
import { checkOptions, downOptions } from './options.js';
import { runOperation } from './operation.js';

export interface DownOptions {
  colour?: Colour;
  forceUnlock?: boolean;
  shared?: boolean;
  volumes?: boolean;
  yes?: boolean;
}

function downInput(e: Engine, opts: DownOptions): DownInput {
  return {
    ...(opts.colour ? { colour: opts.colour } : {}),
    shared: !!opts.shared,
    volumes: !!opts.volumes,
    yes: !!opts.yes,
    canStopShared: !!e.runtime.stopShared,
    canRemoveVolumes: !!e.runtime.removeVolumes,
  };
}

/** What `down` would do now (`--plan`): read-only, takes no lock, changes nothing. */
export async function downPlan(e: Engine, opts: DownOptions = {}): Promise<Plan> {
  checkOptions('down', downOptions, opts);
  return assembleDown(await gatherStateFacts(e), downInput(e, opts));
}

/** Returns what it did, one line per step that changed something. */
export async function down(e: Engine, opts: DownOptions = {}): Promise<string[]> {
  checkOptions('down', downOptions, opts);
  if (opts.volumes && !opts.yes && !e.asker.interactive) {
    throw new SwitchyardError(
      'NEEDS_TTY',
      "down --volumes deletes the shared services' data and asks first, but there is no terminal to ask on",
      { hint: 'pass --yes as well if you really mean to delete the data' },
    );
  }
  return runOperation(e, 'down', { forceUnlock: opts.forceUnlock }, async (op) => {
    const plan = assembleDown(await gatherStateFacts(e, { ownLock: true }), downInput(e, opts));
    op.from = plan.from;
    const x = { e, op, done: [] };
    await execute(x, plan);
    return x.done;
  });
}
