/**
 * The supervisor of a project, whatever its runtime: the process runtime's services
 * (runtime/process/supervisor.ts), the proxy (proxy-keeper.ts) and the logs (log-keeper.ts).
 * `switchyard supervise` runs it detached; `switchyard up --foreground` runs it under a service
 * manager (`idleExit: false`).
 */
import { log, runSupervisor } from '../runtime/process/supervisor.js';
import { watchConfig } from './config-watch.js';
import { logKeeper } from './log-keeper.js';
import { proxyKeeper } from './proxy-keeper.js';

export async function superviseProject(root: string, opts: { configFile?: string; idleExit?: boolean }): Promise<void> {
  const config = watchConfig(root, { ...(opts.configFile ? { configFile: opts.configFile } : {}), log });
  await runSupervisor(root, {
    ...(opts.idleExit === undefined ? {} : { idleExit: opts.idleExit }),
    watchers: [proxyKeeper(root, config, { log })],
    // After the pid file is ours: never two rotations of one log at once.
    companions: [logKeeper(root, config, { log })],
  });
}
