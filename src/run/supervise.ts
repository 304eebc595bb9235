/**
 * The supervisor of a project, whatever its runtime: the process runtime's services
 * (runtime/process/supervisor.ts) and the proxy (proxy-keeper.ts). `switchyard supervise` runs it
 * detached; `switchyard up --foreground` runs it under a service manager (`idleExit: false`).
 */
import { log, runSupervisor } from '../runtime/process/supervisor.js';
import { proxyKeeper } from './proxy-keeper.js';

export async function superviseProject(root: string, opts: { configFile?: string; idleExit?: boolean }): Promise<void> {
  const keeper = proxyKeeper(root, { ...(opts.configFile ? { configFile: opts.configFile } : {}), log });
  await runSupervisor(root, {
    ...(opts.idleExit === undefined ? {} : { idleExit: opts.idleExit }),
    watchers: [keeper],
  });
}
