import type { Command } from 'commander';
import { recover } from '../../run/recover.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerRecover(program: Command, _setExit: SetExit): void {
  program
    .command('recover')
    .description(
      'Converge after an interrupted deploy/rollback/switch/init (killed, or the machine rebooted):' +
        ' say what was interrupted, ' +
        'then finish it if traffic already moved to a healthy colour, or undo it;' +
        ' clear the lock it left. Safe to run again.',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 converged (or nothing to recover)' +
        '; 3 that operation is still running, or another command holds the lock' +
        '; 4 cannot converge (the reason and the fix are printed).',
    )
    .action(async (_o: unknown, cmd: Command) => {
      const { engine } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      await recover(engine);
    });
}
