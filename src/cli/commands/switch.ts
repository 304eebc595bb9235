import type { Command } from 'commander';
import { parseColour, parseWeight } from '../args.js';
import { switchTraffic } from '../../run/switch.js';
import type { Colour } from '../../config/schema.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerSwitch(program: Command, _setExit: SetExit): void {
  program
    .command('switch')
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
    .action(async (colour: Colour, o: { force?: boolean; forceUnlock?: boolean; weight?: number }, cmd: Command) => {
      const { engine } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      await switchTraffic(engine, colour, o);
    });
}
