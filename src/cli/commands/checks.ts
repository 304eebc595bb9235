import type { Command } from 'commander';
import { waitHealthy } from '../../checks/health.js';
import { runSmoke } from '../../checks/smoke.js';
import type { Colour } from '../../config/schema.js';
import { ExitCode } from '../../errors.js';
import { parseColour, parseSeconds } from '../args.js';
import { openEngine, type GlobalOptions } from '../session.js';
import { healthInput, healthOnce } from '../../run/health.js';
import type { SetExit } from './register.js';

export function registerHealth(program: Command, setExit: SetExit): void {
  program
    .command('health')
    .description('Run the five health levels against a colour, one line each; exit 0 only if all pass.')
    .argument('<colour>', 'blue or green', parseColour)
    .option(
      '--timeout <seconds>',
      'keep polling up to this long for the colour to become healthy (default: check once)',
      parseSeconds,
    )
    .action(async (colour: Colour, o: { timeout?: number }, cmd: Command) => {
      const { engine: e, render } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      // Without --timeout: one round, like the guide's health-check.sh; with it: poll until healthy.
      const result =
        o.timeout === undefined
          ? await healthOnce(e, colour)
          : await waitHealthy({
              ...(await healthInput(e, colour)),
              timeoutMs: o.timeout,
              intervalMs: e.loaded.config.checks.interval,
              healthyAfter: 1,
            });
      for (const l of result.levels) {
        render.event('health', { colour, ...l });
        render.info(
          `${l.skipped ? '–' : l.ok ? '✓' : '✗'} level ${l.level} ${l.name}${l.detail ? ': ' + l.detail : ''}`,
        );
      }
      render.info(result.ok ? `${colour} is healthy` : `${colour} is NOT healthy`);
      if (!result.ok) setExit(ExitCode.failed);
    });
}

export function registerSmoke(program: Command, setExit: SetExit): void {
  program
    .command('smoke')
    .description('Run the smoke steps (checks.smoke) directly against a colour, one line each.')
    .argument('<colour>', 'blue or green', parseColour)
    .action(async (colour: Colour, _o: unknown, cmd: Command) => {
      const { engine: e, render } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      const result = await runSmoke({
        config: e.loaded.config,
        colour,
        endpoints: await e.runtime.endpoints(colour),
        projectDir: e.paths.root,
        signal: e.signal,
      });
      for (const s of result.steps) {
        render.event('smoke', { colour, ...s });
        render.info(`${s.ok ? '✓' : '✗'} ${s.name}${s.detail ? ': ' + s.detail : ''}`);
      }
      if (result.steps.length === 0) render.info('no smoke steps configured (checks.smoke)');
      if (!result.ok) setExit(ExitCode.failed);
    });
}
