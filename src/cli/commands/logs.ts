import type { Command } from 'commander';
import { makeRedactor } from '../../config/redact.js';
import { SwitchyardError } from '../../errors.js';
import { readAll, readNew } from '../../util/log-read.js';
import type { Colour } from '../../config/schema.js';
import { parseColour } from '../args.js';
import { instancesOf } from '../../config/instances.js';
import { interrupt, openEngine, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

function print(text: string, prefix: string, redact: (s: string) => string): void {
  for (const line of text.split('\n')) if (line) process.stdout.write(`${prefix}${redact(line)}\n`);
}

export function registerLogs(program: Command, _setExit: SetExit): void {
  program
    .command('logs')
    .description("Print a colour's service logs (all services, or one); -f follows them until Ctrl-C.")
    .argument('<colour>', 'blue or green', parseColour)
    .argument('[service]', 'one service, all its instances (default: all); or one instance, e.g. api.2')
    .option('-f, --follow', 'keep printing new lines')
    .action(async (colour: Colour, service: string | undefined, o: { follow?: boolean }, cmd: Command) => {
      const { engine: e } = await openEngine(cmd.optsWithGlobals<GlobalOptions>());
      // The log files keep what the app wrote; what this command prints hides the config's secrets (I8).
      const redact = makeRedactor(e.loaded.secrets);
      const names = Object.keys(e.loaded.config.services);
      const units = instancesOf(e.loaded.config.services);
      // A service name means all its instances; an instance key (api.2) means that one.
      const single = service !== undefined && !names.includes(service);
      if (single && !units.some((u) => u.key === service)) {
        const several = units.filter((u) => u.index > 1).map((u) => u.key);
        throw new SwitchyardError('USAGE', `no service named ${JSON.stringify(service)}`, {
          hint: `services: ${names.join(', ')}${several.length ? `; instances: ${several.join(', ')}` : ''}`,
        });
      }
      const keys = single
        ? [service]
        : units.filter((u) => service === undefined || u.service === service).map((u) => u.key);
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
      // Rotated files too (logs.maxSize): all that is kept, oldest first; -f goes on across rotations.
      const files = keys.map((s) => {
        const file = e.paths.serviceLog(colour, s);
        const all = readAll(file);
        return { s, file, text: all.text, at: all.follow };
      });
      const prefix = (s: string) => (files.length > 1 ? `${s} | ` : '');
      for (const f of files) print(f.text, prefix(f.s), redact);
      if (!o.follow) return;
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          for (const f of files) {
            const next = readNew(f.file, f.at);
            if (next.note) process.stderr.write(`switchyard: ${next.note}\n`);
            print(next.text, prefix(f.s), redact);
            f.at = next.follow;
          }
        }, 250);
        interrupt.signal.addEventListener('abort', () => (clearInterval(timer), resolve()), { once: true });
      });
    });
}
