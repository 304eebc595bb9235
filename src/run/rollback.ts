/**
 * rollback: back to the colour that served before the last switch (plan/rollback.ts). Its release
 * folder is kept, so a stopped colour restarts exactly the previous release; a warm one is a pure
 * traffic switch.
 */
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { Plan } from '../plan/actions.js';
import { assembleRollback } from '../plan/rollback.js';
import type { Engine } from './context.js';
import { execute } from './execute.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkOptions, rollbackOptions } from './options.js';
import { openProxy } from './proxy.js';
import { offerRecovery } from './recover.js';

export interface RollbackOptions {
  force?: boolean;
  forceUnlock?: boolean;
  /** Recover an interrupted operation first without asking (what `switchyard recover` does). */
  recover?: boolean;
}

/** What `rollback` would do now (`--plan`): read-only, takes no lock, changes nothing. */
export async function rollbackPlan(e: Engine, opts: RollbackOptions = {}): Promise<Plan> {
  checkOptions('rollback', rollbackOptions, opts);
  return assembleRollback(await gatherFacts(e), { force: !!opts.force });
}

export async function rollback(
  e: Engine,
  opts: RollbackOptions = {},
): Promise<{ id: string; from: Colour; to: Colour; release: string; ms: number }> {
  checkOptions('rollback', rollbackOptions, opts);
  if (!opts.force && !e.asker.interactive) {
    throw new SwitchyardError('NEEDS_TTY', 'rollback asks for confirmation, and there is no terminal to ask on', {
      hint: 'pass --force to roll back without asking',
    });
  }
  await offerRecovery(e, 'rollback', opts.recover);
  const flags = [...(opts.force ? ['force'] : []), ...(opts.recover ? ['recover'] : [])];
  return runOperation(e, 'rollback', { forceUnlock: opts.forceUnlock, flags }, async (op) => {
    const { control: proxy } = await openProxy(e);
    const plan = assembleRollback(await gatherFacts(e, { ownLock: true }), { force: !!opts.force });
    const [from, to, release] = [plan.from!, plan.to!, plan.release!];
    const start = plan.actions.some((a) => a.kind === 'ensure-running' && a.start);
    // A warm colour was running before: undoing this rollback must leave it running.
    Object.assign(op, { from, to, release, startsTarget: start });
    await execute({ e, op, proxy, done: [] }, plan);
    const ms = op.elapsed();
    e.reporter.info(`✓ Rollback complete: ${to} is live (release ${release}) in ${(ms / 1000).toFixed(2)} s`);
    e.reporter.event('result', { id: op.id, ok: true, from, to, release, ms });
    return { id: op.id, from, to, release, ms };
  });
}
