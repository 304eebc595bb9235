#!/usr/bin/env node
/**
 * The switchyard CLI. This file owns the only process.exit: every command returns an exit code or
 * throws; a SwitchyardError maps to its code (errors.ts), anything else is a bug (exit 1, "please report").
 */
import { Command, CommanderError } from 'commander';
import { ExitCode, isSwitchyardError } from '../errors.js';
import { describeDiskFull, diskFullCause } from '../util/disk-full.js';
import { safeOutput } from './args.js';
import { registerCommands } from './commands/index.js';
import { interrupt, renderer, wantsJson, type GlobalOptions } from './session.js';

// `switchyard status | head` closes our stdout early: that is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

let signals = 0;
// SIGHUP too: a closed terminal must not leave a half-done deploy and its lock behind.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\n${sig}: stopping safely (the active colour keeps serving)...\n`);
      interrupt.abort(new Error(sig));
    } else process.stderr.write(`${sig} again: still cleaning up, please wait\n`);
  });
}

/** --json or -o json / --output json anywhere among the arguments (for errors before the options were parsed). */
function asksForJson(argv: string[]): boolean {
  return argv.some(
    (a, i) =>
      a === '--json' ||
      a === '--output=json' ||
      a === '-ojson' ||
      ((a === '-o' || a === '--output') && argv[i + 1] === 'json'),
  );
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('switchyard')
    .description('Zero-downtime blue-green deployments on one machine.')
    .version('0.1.0')
    .option('-c, --config <file>', 'config file (default: ./switchyard.yml)')
    .option('--json', 'print one JSON event per line instead of text (for CI)')
    .option('-o, --output <format>', 'output format: text | json')
    .exitOverride()
    .configureOutput(safeOutput)
    .showHelpAfterError('(run with --help for usage)');
  let code: number = ExitCode.ok;
  registerCommands(program, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0)
        return ExitCode.ok;
      // Commander printed its message on stderr; with --json stdout still gets the event, as data.
      if (asksForJson(argv)) {
        const [message = '', ...more] = e.message.replace(/^error: /, '').split('\n');
        renderer({ json: true }).error(message, more, 'run with --help for usage', {
          code: 'USAGE',
          exitCode: ExitCode.usage,
        });
      }
      return ExitCode.usage;
    }
    const g = program.opts<GlobalOptions>();
    const r = renderer(g);
    if (isSwitchyardError(e)) {
      r.error(e.message, e.details, e.hint, { code: e.code, exitCode: e.exitCode });
      return e.exitCode;
    }
    const full = diskFullCause(e);
    if (full) {
      // Not a bug: the disk filled up. Every state file is written atomically, so nothing is half-written.
      const d = describeDiskFull(full);
      r.error(`the disk is full: ${d.what}`, [], `${d.hint}; \`switchyard status\` shows what runs and what is live`, {
        code: 'DISK_FULL',
        exitCode: ExitCode.failed,
      });
      return ExitCode.failed;
    }
    r.error(
      `internal error: ${(e as Error)?.stack ?? String(e)}`,
      [],
      'this is a bug in switchyard; please report it with the output above',
      { code: 'INTERNAL', exitCode: ExitCode.failed },
    );
    if (wantsJson(g)) process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
    return ExitCode.failed;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // Detached children and sockets are unref'd; leave once stderr and stdout are flushed (a write's
    // callback runs when its data is handed to the OS), so a long message is never cut short.
    process.stderr.write('', () => process.stdout.write('', () => process.exit(code)));
  },
  (e) => {
    process.stderr.write(`fatal: ${String(e)}\n`);
    process.exit(1);
  },
);
