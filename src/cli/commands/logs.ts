import fs from 'node:fs';
import type { Command } from 'commander';
import { makeRedactor } from '../../config/redact.js';
import { SwitchyardError } from '../../errors.js';
import type { Colour } from '../../config/schema.js';
import { parseColour } from '../args.js';
import { interrupt, openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

/** Prints a file from `from` on, returning the new offset. */
function printFrom(file: string, from: number, prefix: string, redact: (s: string) => string): number {
  const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
  if (size < from) from = 0; // truncated or replaced
  if (size === from) return size;
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(size - from);
  fs.readSync(fd, buf, 0, buf.length, from);
  fs.closeSync(fd);
  for (const line of buf.toString('utf8').split('\n')) if (line) process.stdout.write(`${prefix}${redact(line)}\n`);
  return size;
}

export function registerLogs(program: Command, _setExit: SetExit): void {
  program
    .command('logs')
    .description("Print a colour's service logs (all services, or one); -f follows them until Ctrl-C.")
    .argument('<colour>', 'blue or green', parseColour)
    .argument('[service]', 'one service (default: all)')
    .option('-f, --follow', 'keep printing new lines')
    .action(async (colour: Colour, service: string | undefined, o: { follow?: boolean }, cmd: Command) => {
      const { engine: e } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      // The log files keep what the app wrote; what this command prints hides the config's secrets (I8).
      const redact = makeRedactor(e.loaded.secrets);
      const names = Object.keys(e.loaded.config.services);
      if (service && !names.includes(service)) {
        throw new SwitchyardError('USAGE', `no service named ${JSON.stringify(service)}`, {
          hint: `services: ${names.join(', ')}`,
        });
      }
      if (e.runtime.logs) {
        // The runtime keeps the output itself (docker): stream it from there, until Ctrl-C with -f.
        await e.runtime.logs(
          colour,
          service ? [service] : names,
          { follow: !!o.follow, signal: interrupt.signal },
          (l) => process.stdout.write(`${redact(l)}\n`),
        );
        return;
      }
      const files = (service ? [service] : names).map((s) => ({ s, file: e.paths.serviceLog(colour, s), at: 0 }));
      const multi = files.length > 1;
      for (const f of files) f.at = printFrom(f.file, 0, multi ? `${f.s} | ` : '', redact);
      if (!o.follow) return;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          for (const f of files) f.at = printFrom(f.file, f.at, multi ? `${f.s} | ` : '', redact);
        }, 250);
        interrupt.signal.addEventListener('abort', () => (clearInterval(timer), resolve()), { once: true });
      });
    });
}
