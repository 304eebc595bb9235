/**
 * up: converge this machine to what state.json records, after a reboot or any loss (plan/up.ts).
 * Idempotent, and it never writes state.json or .current-env. `--foreground` then stays as the
 * supervisor, which is what a service manager runs (`switchyard service install`).
 */
import type { Plan } from '../plan/actions.js';
import { assembleUp, type UpInput } from '../plan/up.js';
import type { Engine } from './context.js';
import { execute } from './execute.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkOptions, upOptions } from './options.js';

export interface UpOptions {
  forceUnlock?: boolean;
}

function upInput(e: Engine): UpInput {
  const shared = Object.keys(e.loaded.config.shared ?? {}).length > 0 && !!e.runtime.startShared;
  return { shared, selfRestarting: !e.runtime.supervise };
}

/** What `up` would do now (`--plan`): read-only, takes no lock, changes nothing. */
export async function upPlan(e: Engine, opts: UpOptions = {}): Promise<Plan> {
  checkOptions('up', upOptions, opts);
  return assembleUp(await gatherFacts(e), upInput(e));
}

/** Returns what it did (empty: nothing to do). */
export async function up(e: Engine, opts: UpOptions = {}): Promise<string[]> {
  checkOptions('up', upOptions, opts);
  return runOperation(e, 'up', { forceUnlock: opts.forceUnlock }, async (op) => {
    const plan = assembleUp(await gatherFacts(e, { ownLock: true }), upInput(e));
    op.to = plan.to;
    op.release = plan.release;
    for (const n of plan.notes) e.reporter.warn(n);
    const x = { e, op, done: [] as string[] };
    await execute(x, plan);
    op.note = x.done.length ? x.done.join('; ') : 'nothing to do';
    e.reporter.info(
      x.done.length === 0
        ? `✓ Nothing to do: ${plan.to ? `${plan.to} serves release ${plan.release}` : 'no colour is live'}`
        : `✓ Up: ${x.done.join('; ')}${plan.to ? `; ${plan.to} serves release ${plan.release}` : ''}`,
    );
    e.reporter.event('result', { id: op.id, ok: true, to: plan.to, release: plan.release, done: x.done });
    return x.done;
  });
}
