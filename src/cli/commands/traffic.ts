/** maintenance on|off and preview <colour>: proxy features that move no traffic between colours. */
import { InvalidArgumentError, type Command } from 'commander';
import { parseColour } from '../args.js';
import { SwitchyardError } from '../../errors.js';
import type { Colour } from '../../config/schema.js';
import { maintenance } from '../../run/maintenance.js';
import { preview } from '../../run/preview.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

function parseOnOff(v: string): boolean {
  if (v === 'on' || v === 'off') return v === 'on';
  throw new InvalidArgumentError(`expected "on" or "off", got ${JSON.stringify(v)}`);
}

export function registerMaintenance(program: Command, _setExit: SetExit): void {
  program
    .command('maintenance')
    .description(
      'Turn maintenance mode on or off: the proxy answers 503 with a page and Retry-After' +
        ' to everyone except proxy.maintenance.allow.' +
        ' No reload, no restart; `status` shows it.',
    )
    .argument('<on|off>', 'on or off', parseOnOff)
    .option('-m, --message <text>', 'the text of the maintenance page (HTML-escaped; default: a generic notice)')
    .action(async (on: boolean, o: { message?: string }, cmd: Command) => {
      const { engine } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      if (!on && o.message !== undefined)
        throw new SwitchyardError('USAGE', '--message goes with "on"', {
          hint: 'switchyard maintenance on --message "..."',
        });
      const r = await maintenance(engine, on, o.message);
      engine.reporter.info(
        r.on
          ? `✓ maintenance is ON: 503 for everyone${r.allow.length ? ` except ${r.allow.join(', ')}` : ''}` +
              `; \`switchyard maintenance off\` ends it`
          : '✓ maintenance is off: the live colour serves everyone again',
      );
      engine.reporter.event('result', { ok: true, maintenance: r.on });
    });
}

export function registerPreview(program: Command, _setExit: SetExit): void {
  program
    .command('preview')
    .description(
      'Make a running, inactive colour reachable through the proxy: on the preview listener (proxy.listen.preview)' +
        ' and, where configured, with the preview header or cookie.' +
        ' Users see nothing of it.',
    )
    .argument('<colour>', 'blue or green (not the live one)', parseColour)
    .action(async (colour: Colour, _o: unknown, cmd: Command) => {
      const { engine } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      await preview(engine, colour);
    });
}
