/** init: start the proxy, deploy to blue, check it, activate it, write state (the guide's init-bluegreen). */
import type { Plan } from '../plan/actions.js';
import { assembleInit, type InitInput } from '../plan/init.js';
import type { Engine } from './context.js';
import { execute } from './execute.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkOptions, initOptions } from './options.js';

export interface InitOptions {
  skipTests?: boolean;
  ref?: string;
  forceUnlock?: boolean;
}

function initInput(e: Engine, opts: InitOptions): InitInput {
  const shared = Object.keys(e.loaded.config.shared ?? {}).length > 0 && !!e.runtime.startShared;
  return { shared, skipTests: !!opts.skipTests, ...(opts.ref ? { ref: opts.ref } : {}) };
}

/** What `init` would do now (`--plan`): read-only, takes no lock, changes nothing. */
export async function initPlan(e: Engine, opts: InitOptions = {}): Promise<Plan> {
  checkOptions('init', initOptions, opts);
  return assembleInit(await gatherFacts(e), initInput(e, opts));
}

export async function init(e: Engine, opts: InitOptions = {}): Promise<{ id: string; release: string; ms: number }> {
  checkOptions('init', initOptions, opts);
  const cfg = e.loaded.config;
  return runOperation(e, 'init', { forceUnlock: opts.forceUnlock }, async (op) => {
    const plan = assembleInit(await gatherFacts(e, { ownLock: true }), initInput(e, opts));
    op.to = plan.to;
    await execute({ e, op, done: [] }, plan);
    const ms = op.elapsed();
    e.reporter.info(
      `✓ Initialised: ${plan.to} is live on ${cfg.proxy.listen.host}:${cfg.proxy.listen.http} (release ${op.release})`,
    );
    e.reporter.event('result', { id: op.id, ok: true, to: plan.to, release: op.release, ms });
    return { id: op.id, release: op.release!, ms };
  });
}
