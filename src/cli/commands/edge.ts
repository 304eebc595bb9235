/** `edge-proxy` (hidden): the built-in proxy or nginx as a swarm edge replica, inside its container (docs/swarm.md). */
import type { Command } from 'commander';
import type { SetExit } from './register.js';

export function registerEdgeProxy(program: Command, _setExit: SetExit): void {
  program
    .command('edge-proxy', { hidden: true })
    .description('internal: the proxy on a swarm edge node, configured by its environment')
    .action(async () => {
      // Imported here: the proxy (and ws) is not needed by any other command.
      const { edgeSettings } = await import('../../proxy/edge-settings.js');
      const s = await edgeSettings(process.env);
      if (s.nginx) {
        const { runNginxEdge } = await import('../../proxy/nginx/edge.js');
        await runNginxEdge({ ...s, nginx: s.nginx });
      } else {
        const { runEdgeProxy } = await import('../../proxy/builtin/edge.js');
        await runEdgeProxy(s);
      }
    });
}
