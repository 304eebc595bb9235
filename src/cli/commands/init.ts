import type { Command } from 'commander';
import { init, initPlan } from '../../run/init.js';
import { addPlanOption, printPlan } from '../plan.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import { checkFromComposeUsage, fromCompose, type FromComposeOptions } from './from-compose.js';
import type { SetExit } from './register.js';

interface InitOptions extends FromComposeOptions {
  skipTests?: boolean;
  ref?: string;
  forceUnlock?: boolean;
  plan?: boolean;
  yes?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerInit(program: Command, _setExit: SetExit): void {
  addPlanOption(program.command('init'))
    .description('Start the proxy, deploy the current code to blue, check it and make it live (first-time setup).')
    .option('--skip-tests', 'do not run the smoke steps (not recommended)')
    .option('--ref <ref>', 'deploy this git commit or tag instead of the working tree')
    .option('-y, --yes', 'answer yes to every question (init asks none today; accepted for scripts)')
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .option(
      '--from-compose [file]',
      'write switchyard.yml from your docker compose file (default: the files `docker compose` reads here) ' +
        'and deploy nothing; prints what it decided and what you must add by hand',
    )
    .option('-f, --file <path>', 'with --from-compose: another compose file, merged in order (repeatable)', collect)
    .option('--force', 'with --from-compose: replace an existing switchyard.yml')
    .option('--print', 'with --from-compose: print the YAML on stdout instead of writing it (notes on stderr)')
    .addHelpText(
      'after',
      '\nFrom docker compose (docs/compose.md):\n' +
        '  switchyard init --from-compose                  docker-compose.yml (+ its override)\n' +
        '  switchyard init --from-compose a.yml -f b.yml   b.yml merged over a.yml\n' +
        '  then review it: switchyard init --plan; and deploy: switchyard init\n' +
        'An existing switchyard.yml is kept (exit 2) unless --force is given.',
    )
    .action(async (o: InitOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { plan, fromCompose: from, file, force, print, yes: _yes, ...opts } = o;
      checkFromComposeUsage(o);
      if (from !== undefined) return fromCompose(g, { fromCompose: from, file, force, print });
      const { engine, render } = await openEngine(g);
      if (plan) return printPlan(render, wantsJson(g), await initPlan(engine, opts));
      await init(engine, opts);
    });
}
