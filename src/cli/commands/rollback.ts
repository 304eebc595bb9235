import type { Command } from 'commander';
import { rollback, rollbackPlan } from '../../run/rollback.js';
import { addPlanOption, printPlan } from '../plan.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerRollback(program: Command, _setExit: SetExit): void {
  addPlanOption(program.command('rollback'))
    .description(
      'Return traffic to the previous colour: start its kept release if stopped,' +
        ' health-check it, switch back, then stop the failed colour.',
    )
    .option('-f, --force', 'no questions: roll back and stop the failed colour')
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .option(
      '--recover',
      'first finish or undo an operation that was interrupted (what `switchyard recover` does), without asking',
    )
    .action(async (o: { force?: boolean; forceUnlock?: boolean; recover?: boolean; plan?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { engine, render } = await openEngine(g);
      const { plan, ...opts } = o;
      if (plan) return printPlan(render, wantsJson(g), await rollbackPlan(engine, opts));
      await rollback(engine, opts);
    });
}
