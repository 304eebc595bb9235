/** Runs a program with an argument array (never a shell), bounded by a timeout and an AbortSignal. */
import { execFile } from 'node:child_process';
import { SwitchyardError } from '../errors.js';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export function execArgs(
  file: string,
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 120_000,
        signal: opts.signal,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
        const what = `${file} ${args.join(' ')}`;
        if (e.code === 'ENOENT') {
          return reject(
            new SwitchyardError('COMMAND_FAILED', `${file} is not installed (running \`${what}\`)`, {
              hint: `install ${file} and try again`,
            }),
          );
        }
        const why = e.killed ? 'timed out' : `exited with ${String(e.code)}`;
        const tail = (stderr || stdout).trim().split('\n').slice(-10);
        reject(new SwitchyardError('COMMAND_FAILED', `\`${what}\` ${why}`, { details: tail, cause: err }));
      },
    );
  });
}
