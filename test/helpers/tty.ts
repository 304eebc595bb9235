/**
 * Runs the built CLI under a pseudo-terminal (script(1)), answering prompts: each answer waits for
 * its pattern in the output, then (optionally after running `before`, e.g. checks while a deploy is
 * held at its question) types its keys. Bounded: killed after timeoutMs or 1 MB of output.
 */
import { spawn } from 'node:child_process';
import { CLI } from './project.ts';

export interface TtyAnswer {
  when: RegExp;
  keys: string;
  /** Runs once the prompt appeared, before the keys are typed. */
  before?: () => Promise<void>;
}

export function runOnTty(
  dir: string,
  env: NodeJS.ProcessEnv,
  args: string[],
  answers: TtyAnswer[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; out: string; error?: unknown }> {
  return new Promise((resolve) => {
    // The command line is built from our own constants and quoted, not from outside input.
    const cmd =
      'stty cols 120 rows 40; exec ' +
      [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], {
      cwd: dir,
      env: { ...env, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let busy = false;
    let error: unknown;
    const pending = [...answers];
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.length > 1_000_000) child.kill('SIGKILL');
      const next = pending[0];
      if (busy || !next || !next.when.test(out)) return;
      pending.shift();
      busy = true;
      (next.before ?? (async () => {}))()
        .catch((e: unknown) => (error ??= e))
        .finally(() => {
          busy = false;
          child.stdin.write(next.keys);
        });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ...(error === undefined ? {} : { error }) });
    });
  });
}
