/**
 * Runs a configured command (a smoke `run:` step, the migrate hook) to completion, bounded by its
 * timeout and an AbortSignal. Its own process group, so a timeout kills the script and everything
 * it started. The outcome carries the tail of its output for the message.
 */
import { spawn } from 'node:child_process';

/** A command as the config gives it (a smoke `run:` step, the migrate hook): argv or a string. */
export interface CommandSpec {
  run: string | string[];
  /** Run through /bin/sh -c (pipes, &&); otherwise a string is split on spaces. */
  shell: boolean;
  /** Milliseconds. */
  timeout: number;
}

export interface RunOutcome {
  ok: boolean;
  detail: string;
}

const TAIL_LINES = 15;
const MAX_OUTPUT_CHARS = 64 * 1024;
/** After SIGTERM, how long a step may take to exit before SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** After the process exits, how long to wait for its pipes (a grandchild may hold them open). */
const PIPE_DRAIN_MS = 500;

export function argvOf(step: Pick<CommandSpec, 'run' | 'shell'>): string[] {
  if (step.shell) return ['/bin/sh', '-c', Array.isArray(step.run) ? step.run.join(' ') : step.run];
  return Array.isArray(step.run) ? step.run : step.run.trim().split(/\s+/);
}

function tail(text: string): string {
  const lines = text.trimEnd().split('\n');
  const last = lines.slice(-TAIL_LINES).join('\n');
  return lines.length > TAIL_LINES ? `...\n${last}` : last;
}

export function runCommand(
  step: CommandSpec,
  opts: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<RunOutcome> {
  const [file, ...args] = argvOf(step);
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    let cancelled = false;
    let exit: { code: number | null; sig: NodeJS.Signals | null } | undefined;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const child = spawn(file as string, args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (c: Buffer) => {
      output = (output + c.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);

    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS));
    };
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, step.timeout),
    );

    const finish = (outcome: RunOutcome) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      opts.signal?.removeEventListener('abort', onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve(outcome);
    };
    const judge = () => {
      const out = output.trim() ? `\n${tail(output)}` : '';
      if (timedOut) return finish({ ok: false, detail: `timed out after ${step.timeout} ms and was killed${out}` });
      if (cancelled) return finish({ ok: false, detail: 'cancelled' });
      if (exit?.code === 0) return finish({ ok: true, detail: '' });
      const how = exit?.sig ? `was killed by ${exit.sig}` : `exited with code ${exit?.code}`;
      finish({ ok: false, detail: `${argvOf(step).join(' ')} ${how}${out}` });
    };
    child.on('error', (e: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        detail:
          `could not run ${JSON.stringify(file)}: ` +
          `${e.code === 'ENOENT' ? 'command not found (or cwd missing)' : e.message}`,
      }),
    );
    child.on('exit', (code, sig) => {
      exit = { code, sig };
      timers.push(setTimeout(judge, PIPE_DRAIN_MS));
    });
    child.on('close', () => {
      if (exit) judge();
    });
  });
}
