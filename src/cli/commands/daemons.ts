import path from 'node:path';
import type { Command } from 'commander';
import { reap } from '../../run/reap.js';
import { superviseProject } from '../../run/supervise.js';
import type { Colour } from '../../config/schema.js';
import { parseColour } from '../args.js';
import { openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerProxy(program: Command, _setExit: SetExit): void {
  program
    .command('proxy')
    .description('Run the built-in proxy in the foreground (init and every command start it detached when needed).')
    .requiredOption('--project <dir>', 'project folder holding .switchyard/')
    .action(async (o: { project: string }) => {
      // With proxy.workers > 1 the daemon forks itself (node:cluster): the same command line, run as a worker.
      if ((await import('node:cluster')).default.isWorker) {
        const { runReplicaWorker } = await import('../../proxy/builtin/replica-worker.js');
        return runReplicaWorker(o.project);
      }
      // Imported here: the proxy (and ws) is not needed by any other command.
      const { runProxyDaemon } = await import('../../proxy/builtin/daemon.js');
      await runProxyDaemon(o.project);
    });
}

export function registerReap(program: Command, _setExit: SetExit): void {
  program
    .command('reap', { hidden: true })
    .description('internal: stop an idle colour after its keep-warm window (deploy.keepOldFor)')
    .requiredOption('--colour <colour>', 'colour', parseColour)
    .requiredOption('--release <id>', 'release the colour must still run')
    .requiredOption('--after <ms>', 'wait this long first', (v) => Number.parseInt(v, 10))
    .action(async (o: { colour: Colour; release: string; after: number }, cmd: Command) => {
      const { engine, render } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      render.info(await reap(engine, o.colour, o.release, o.after));
    });
}

export function registerSupervise(program: Command, _setExit: SetExit): void {
  program
    .command('supervise', { hidden: true })
    .description(
      "internal: keep the process runtime's services and the proxy running: start an exited one again " +
        '(commands start it detached)',
    )
    .requiredOption('--project <dir>', 'project folder holding .switchyard/')
    .action(async (o: { project: string }, cmd: Command) => {
      const { config } = cmd.optsWithGlobals<GlobalOptions>();
      await superviseProject(path.resolve(o.project), { ...(config ? { configFile: path.resolve(config) } : {}) });
    });
}
