import type { Command } from 'commander';
import { parseColour } from '../args.js';
import { down, downPlan } from '../../run/down.js';
import { addPlanOption, printPlan } from '../plan.js';
import type { Colour } from '../../config/schema.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerDown(program: Command, _setExit: SetExit): void {
  addPlanOption(program.command('down'))
    .description(
      'Stop both colours and the proxy (state, history, releases, shared services and their data are kept).' +
        ' With a colour: stop only that idle colour.',
    )
    .argument('[colour]', 'stop only this colour (it must not be the active one)', parseColour)
    .option('--shared', 'also stop the shared services such as the database (docker runtime; their volumes are kept)')
    .option(
      '--volumes',
      'also stop the shared services and DELETE their data volumes (asks first; --yes without a terminal)',
    )
    .option('-y, --yes', 'answer yes (to --volumes)')
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .action(
      async (
        colour: Colour | undefined,
        o: { forceUnlock?: boolean; shared?: boolean; volumes?: boolean; yes?: boolean; plan?: boolean },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const { engine, render } = await openEngine(g);
        const { plan, ...opts } = o;
        if (plan) return printPlan(render, wantsJson(g), await downPlan(engine, { colour, ...opts }));
        await down(engine, { colour, ...opts });
      },
    );
}
