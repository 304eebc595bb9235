/**
 * `switchyard tunnel-relay` (hidden): the far end of the CLI's tunnel into a swarm's overlay
 * network (src/runtime/swarm/tunnel.ts starts it in a container and holds its stdin and stdout).
 * stdout carries only the tunnel's frames: anything else printed there would break the stream, so
 * console output goes to stderr while it runs.
 */
import type { Command } from 'commander';
import { interrupt } from '../session.js';
import type { SetExit } from './register.js';

export function registerTunnelRelay(program: Command, _setExit: SetExit): void {
  program
    .command('tunnel-relay', { hidden: true })
    .description("internal: relay TCP connections framed on stdin/stdout (the swarm tunnel's far end)")
    .action(async () => {
      const toStderr = (...args: unknown[]) => console.error(...args);
      console.log = toStderr;
      console.info = toStderr;
      console.debug = toStderr;
      const { runTunnelRelay } = await import('../../runtime/swarm/tunnel-relay.js');
      await runTunnelRelay(process.stdin, process.stdout, { signal: interrupt.signal });
    });
}
