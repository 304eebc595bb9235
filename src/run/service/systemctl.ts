/** systemctl, always with an argument array; and whether this machine runs systemd at all. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { execArgs } from '../../util/exec.js';

/** sd_booted(3): systemd is PID 1 exactly when this folder exists. */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

export function systemctlArgs(user: boolean, args: string[]): string[] {
  return user ? ['--user', ...args] : args;
}

/** How to run it by hand (for the messages: unit names and verbs need no quoting). */
export function systemctlLine(user: boolean, args: string[]): string {
  return ['systemctl', ...systemctlArgs(user, args)].join(' ');
}

/** Runs systemctl; a non-zero exit is a COMMAND_FAILED naming the command and its last lines. */
export async function systemctl(user: boolean, args: string[]): Promise<void> {
  await execArgs('systemctl', systemctlArgs(user, args), { timeoutMs: 90_000 });
}

/** `is-enabled` / `is-active`: their answer is the first line they print, whatever their exit code. */
export function systemctlAsk(user: boolean, verb: 'is-enabled' | 'is-active', unit: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('systemctl', systemctlArgs(user, [verb, unit]), { timeout: 10_000, encoding: 'utf8' }, (err, out, e) => {
      const first = (out || e).trim().split('\n')[0] ?? '';
      resolve(first || (err ? `unknown (${err.message.split('\n')[0]})` : 'unknown'));
    });
  });
}
