import type { Command } from 'commander';
import { parseColour, parseWeight } from '../args.js';
import { switchPlan, switchTraffic } from '../../run/switch.js';
import { addPlanOption, printPlan } from '../plan.js';
import type { Colour } from '../../config/schema.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerSwitch(program: Command, _setExit: SetExit): void {
  addPlanOption(program.command('switch'))
    .description(
      'Move all traffic to a running colour, atomically. Refuses an unhealthy colour unless --force. ' +
        'With --weight P, send P% of clients (sticky per client) to it and keep the rest on the live colour' +
        '; --weight 0 ends the split.',
    )
    .argument('<colour>', 'blue or green', parseColour)
    .option('-f, --force', 'switch even if the colour fails its health check; also repairs state.json/.current-env')
    .option(
      '-w, --weight <percent>',
      'send this share of clients (0-100) to the colour; 100 = all, 0 = end the split',
      parseWeight,
    )
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .action(
      async (
        colour: Colour,
        o: { force?: boolean; forceUnlock?: boolean; weight?: number; plan?: boolean },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const { engine, render } = await openEngine(g);
        const { plan, ...opts } = o;
        if (plan) return printPlan(render, wantsJson(g), await switchPlan(engine, colour, opts));
        await switchTraffic(engine, colour, opts);
      },
    );
}
