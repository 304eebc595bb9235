import type { Command } from 'commander';
import { parseColour } from '../args.js';
import { down } from '../../run/down.js';
import type { Colour } from '../../config/schema.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerDown(program: Command, _setExit: SetExit): void {
  program
    .command('down')
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
        o: { forceUnlock?: boolean; shared?: boolean; volumes?: boolean; yes?: boolean },
        cmd: Command,
      ) => {
        const { engine, render } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
        for (const line of await down(engine, { colour, ...o })) render.info(`✓ ${line}`);
      },
    );
}
