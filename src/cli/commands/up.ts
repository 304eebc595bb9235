import type { Command } from 'commander';
import { up, upPlan } from '../../run/up.js';
import { addPlanOption, printPlan } from '../plan.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerUp(program: Command, _setExit: SetExit): void {
  addPlanOption(program.command('up'))
    .description(
      'Bring this machine back to what state.json records (after a reboot or any loss): shared services, the ' +
        'proxy on its saved routing, the live colour from its recorded release (users get 503 with Retry-After ' +
        'while it starts, never a refused connection once the proxy runs), and the other colour only if it was ' +
        'kept warm. Never changes state.json or .current-env; a second run has nothing to do.',
    )
    .option(
      '--foreground',
      'then stay in the foreground as the supervisor that restarts exited services (what a service manager runs)',
    )
    .option('--force-unlock', 'clear a stale lock left by a command that died')
    .addHelpText(
      'after',
      '\nExit codes: 0 up (or nothing to do); 1 a recorded release is gone or failed its health checks' +
        '; 2 usage/config error; 3 locked.',
    )
    .action(async (o: { plan?: boolean; foreground?: boolean; forceUnlock?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { engine, render } = await openEngine(g);
      const { plan, foreground, ...opts } = o;
      if (plan) return printPlan(render, wantsJson(g), await upPlan(engine, opts));
      await up(engine, opts);
      if (!foreground) return;
      const sup = await import('../../runtime/supervisor-pid.js');
      // This process becomes the supervisor: the detached one a command may have left goes first.
      await sup.stopSupervisor(engine.paths);
      render.info(
        `supervising ${engine.paths.root} in the foreground` +
          ' (SIGTERM to stop; the services and the proxy keep running)' +
          (engine.runtime.supervise ? '' : '; the Docker engine restarts the containers (restart policies)'),
      );
      const { superviseProject } = await import('../../run/supervise.js');
      await superviseProject(engine.paths.root, { configFile: engine.loaded.file, idleExit: false });
    });
}
