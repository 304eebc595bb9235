/** canary promote|abort: end the running deploy's canary step early, from another terminal. */
import { InvalidArgumentError, type Command } from 'commander';
import { formatDuration } from '../../config/duration.js';
import { canaryControl, type CanaryAction } from '../../run/canary-control.js';
import { CANARY_ACTIONS, isCanaryAction } from '../../state/canary-request.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

function parseAction(v: string): CanaryAction {
  if (isCanaryAction(v)) return v;
  throw new InvalidArgumentError(
    `expected ${CANARY_ACTIONS.map((a) => `"${a}"`).join(' or ')}, got ${JSON.stringify(v)}`,
  );
}

export function registerCanary(program: Command, _setExit: SetExit): void {
  program
    .command('canary')
    .description(
      'End the canary step a running `deploy --canary` waits in, from another terminal:' +
        ' promote (go on to the next step now; a watched step keeps its verdict so far)' +
        ' or abort (every client back on the old colour, the deploy stops the new one and fails).' +
        ' Takes no lock: it asks the deploy, and waits up to 10 s for its answer.',
    )
    .argument('<promote|abort>', 'promote or abort', parseAction)
    .addHelpText(
      'after',
      '\nExit codes: 0 the deploy did it; 1 no deploy waits in a canary step below 100%' +
        ' (nothing changed), or it did not take the request within 10 s (withdrawn)' +
        '; 3 another promote or abort is already waiting for the deploy.',
    )
    .action(async (action: CanaryAction, _o: unknown, cmd: Command) => {
      const { engine } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      const r = await canaryControl(engine, action);
      const step = `the ${r.percent}% step of deploy ${r.operation}`;
      engine.reporter.info(
        action === 'promote'
          ? `✓ promoted ${step} after ${formatDuration(r.afterMs)}: ${r.message}`
          : `✓ aborted ${step} after ${formatDuration(r.afterMs)}: ${r.message}`,
      );
      engine.reporter.event('result', { ok: true, ...r });
    });
}
