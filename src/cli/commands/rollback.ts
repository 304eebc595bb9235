import type { Command } from 'commander';
import { rollback } from '../../run/rollback.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerRollback(program: Command, _setExit: SetExit): void {
  program
    .command('rollback')
    .description(
      'Return traffic to the previous colour: start its kept release if stopped,' +
        ' health-check it, switch back, then stop the failed colour.',
    )
    .option('-f, --force', 'no questions: roll back and stop the failed colour')
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .option(
      '--recover',
      'first finish or undo an operation that was interrupted (what `switchyard recover` does), without asking',
    )
    .action(async (o: { force?: boolean; forceUnlock?: boolean; recover?: boolean }, cmd: Command) => {
      const { engine } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      await rollback(engine, o);
    });
}
