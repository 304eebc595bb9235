import type { Command } from 'commander';
import { init } from '../../run/init.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerInit(program: Command, _setExit: SetExit): void {
  program
    .command('init')
    .description('Start the proxy, deploy the current code to blue, check it and make it live (first-time setup).')
    .option('--skip-tests', 'do not run the smoke steps (not recommended)')
    .option('--ref <ref>', 'deploy this git commit or tag instead of the working tree')
    .option('-y, --yes', 'answer yes to every question (init asks none today; accepted for scripts)')
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .action(async (o: { skipTests?: boolean; ref?: string; forceUnlock?: boolean }, cmd: Command) => {
      const { engine } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      await init(engine, o);
    });
}
