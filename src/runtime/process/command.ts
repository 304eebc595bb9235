/**
 * Turning a configured command into argv. We never build a shell string from input: an array is
 * run exactly as given; a string is split on runs of whitespace, with NO quoting or escaping rules
 * (so `node "my server.js"` is three words). Anyone who needs quotes, pipes, `&&` or variables
 * writes an array or sets `shell: true`, which runs the string with `/bin/sh -c STRING`.
 */
import type { Command } from '../../config/schema.js';

export interface Argv {
  file: string;
  args: string[];
}

export function toArgv(command: Command, shell: boolean): Argv {
  if (Array.isArray(command)) {
    const [file, ...args] = command;
    if (!file) throw new Error('empty command');
    return { file, args };
  }
  if (shell) return { file: '/bin/sh', args: ['-c', command] };
  const words = command
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  const [file, ...args] = words;
  if (!file) throw new Error('empty command');
  return { file, args };
}

/** For messages only (never executed). */
export function describeArgv(argv: Argv): string {
  return [argv.file, ...argv.args].map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : JSON.stringify(w))).join(' ');
}
