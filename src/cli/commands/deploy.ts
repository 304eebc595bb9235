import type { Command } from 'commander';
import { deploy, deployPlan } from '../../run/deploy.js';
import { addPlanOption, printPlan } from '../plan.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import { parseCanary, parseSeconds } from '../args.js';
import type { SetExit } from './register.js';

export function registerDeploy(program: Command, _setExit: SetExit): void {
  addPlanOption(program.command('deploy'))
    .description(
      'Deploy the current code to the inactive colour: back up, pull, build, start, health-check, smoke-test, ' +
        'switch traffic (after asking, or with --auto-switch), verify, then drain and stop the old colour. ' +
        'Any failure before the switch leaves the active colour serving and state.json unchanged.',
    )
    .option('--auto-switch', 'switch traffic without asking once every check passed (CI)')
    .option('-y, --yes', 'same as --auto-switch')
    .option('--skip-tests', 'do not run the smoke steps (emergencies only)')
    .option('--skip-backup', 'do not back up the database first (recorded in history)')
    .option('--keep-old', 'leave the old colour running after the switch (and a failed target, for debugging)')
    .option('--pull', 'run `git pull --ff-only` in the project before building')
    .option('--ref <ref>', 'deploy this git commit or tag (the working tree is not touched)')
    .option(
      '--canary <steps>',
      'shift traffic in steps, e.g. 10,50,100 (percent of clients on the new colour; sticky per client)',
      parseCanary,
    )
    .option(
      '--step-wait <duration>',
      'how long each canary step lasts, e.g. 60s (default deploy.stepWait)',
      parseSeconds,
    )
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .option(
      '--recover',
      'first finish or undo an operation that was interrupted (what `switchyard recover` does), without asking',
    )
    .addHelpText(
      'after',
      '\nWith deploy.rollbackOn set, each canary step and the first deploy.watch (60 s)' +
        ' after the full switch are watched:\n' +
        'past a threshold, every client goes back to the old colour by itself and the deploy fails (exit 1).\n' +
        '\nExit codes: 0 deployed; 1 failed (or rolled back by the watch), the old colour serves' +
        '; 2 usage/config error or a prompt without a TTY; 3 locked' +
        '; 4 an interrupted operation is in the way (run `switchyard recover`, or pass --recover).',
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { engine, render } = await openEngine(g);
      const { plan, ...opts } = o;
      if (plan) return printPlan(render, wantsJson(g), await deployPlan(engine, opts));
      await deploy(engine, opts);
    });
}
