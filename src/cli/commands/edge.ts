/** `edge-proxy` (hidden): the built-in proxy as a swarm edge replica, inside its container (docs/swarm.md). */
import type { Command } from 'commander';
import type { SetExit } from './register.js';

export function registerEdgeProxy(program: Command, _setExit: SetExit): void {
  program
    .command('edge-proxy', { hidden: true })
    .description('internal: the built-in proxy on a swarm edge node, configured by its environment')
    .action(async () => {
      // Imported here: the proxy (and ws) is not needed by any other command.
      const { edgeSettings, runEdgeProxy } = await import('../../proxy/builtin/edge.js');
      await runEdgeProxy(await edgeSettings(process.env));
    });
}
