import type { Command } from 'commander';
import { init, initPlan } from '../../run/init.js';
import { addPlanOption, printPlan } from '../plan.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerInit(program: Command, _setExit: SetExit): void {
  addPlanOption(program.command('init'))
    .description('Start the proxy, deploy the current code to blue, check it and make it live (first-time setup).')
    .option('--skip-tests', 'do not run the smoke steps (not recommended)')
    .option('--ref <ref>', 'deploy this git commit or tag instead of the working tree')
    .option('-y, --yes', 'answer yes to every question (init asks none today; accepted for scripts)')
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .action(async (o: { skipTests?: boolean; ref?: string; forceUnlock?: boolean; plan?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { engine, render } = await openEngine(g);
      const { plan, ...opts } = o;
      if (plan) return printPlan(render, wantsJson(g), await initPlan(engine, opts));
      await init(engine, opts);
    });
}
