/**
 * Runs one program for the backup code with streams on both ends: stdin fed from a Readable (a
 * dump being restored), stdout piped into a Writable (a dump being written) or collected. Bounded
 * by a timeout and an AbortSignal; either kills the child's process group (SIGTERM, then SIGKILL)
 * and rejects with TIMEOUT / ABORTED only once the child is gone, so callers can delete what it
 * was writing without racing it.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SwitchyardError } from '../errors.js';

export interface StreamExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdin?: Readable;
  stdout?: Writable;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Names the program in TIMEOUT / ABORTED messages, e.g. "pg_dump". */
  what: string;
}

export interface StreamExecResult {
  /** The exit code; 128 + the signal number when killed by a signal (as shells and docker report it). */
  code: number;
  stdout: string;
  stderr: string;
}

const KILL_GRACE_MS = 2_000;
/** After the exit, how long a grandchild may keep our pipes open before we stop reading. */
const PIPE_DRAIN_MS = 2_000;
const MAX_STDERR = 64 * 1024;
const MAX_STDOUT = 16 * 1024 * 1024;

/** Rejects with the spawn error itself (ENOENT when the program is missing): the caller knows how to name the fix. */
export function streamExec(file: string, args: string[], o: StreamExecOptions): Promise<StreamExecResult> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(new SwitchyardError('ABORTED', `${o.what} interrupted`));
    // Its own process group: a timeout or Ctrl-C kills a `sh -c` dump and everything it started.
    const child = spawn(file, args, {
      env: o.env,
      cwd: o.cwd,
      detached: true,
      stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const childOut = child.stdout as Readable;
    const childErr = child.stderr as Readable;
    let stderr = '';
    let stdout = '';
    let why: 'timeout' | 'abort' | undefined;
    let streamError: Error | undefined;
    let spawnError: Error | undefined;
    let exit: { code: number | null; sig: NodeJS.Signals | null } | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const stop = (reason: typeof why) => {
      why ??= reason;
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS));
    };
    const onAbort = () => stop('abort');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    timers.push(setTimeout(() => stop('timeout'), o.timeoutMs));

    childErr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-MAX_STDERR)));
    const out: Promise<void> = o.stdout
      ? pipeline(childOut, o.stdout).catch((e: Error) => {
          // Our side failed (disk full, folder gone): the program cannot go on writing.
          streamError ??= e;
          stop(undefined);
        })
      : new Promise((res) => {
          childOut.on('data', (c: Buffer) => {
            if (stdout.length < MAX_STDOUT) stdout += c.toString('utf8');
          });
          childOut.on('close', res);
        });
    if (o.stdin && child.stdin) {
      // A reader may stop early (pg_restore --list reads only the table of contents): EPIPE is fine.
      child.stdin.on('error', () => undefined);
      o.stdin.on('error', (e) => {
        streamError ??= e;
        stop(undefined);
      });
      o.stdin.pipe(child.stdin);
    }

    const finish = () => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      o.signal?.removeEventListener('abort', onAbort);
      o.stdin?.unpipe();
      o.stdin?.destroy();
      childOut.destroy();
      childErr.destroy();
      if (spawnError) return reject(spawnError);
      if (why === 'abort') return reject(new SwitchyardError('ABORTED', `${o.what} interrupted`));
      if (why === 'timeout')
        return reject(
          new SwitchyardError(
            'TIMEOUT',
            `${o.what} timed out after ` +
              (o.timeoutMs < 10_000 ? `${o.timeoutMs} ms` : `${Math.round(o.timeoutMs / 1000)} s`) +
              ` and was killed`,
          ),
        );
      if (streamError) return reject(streamError);
      const code = exit?.code ?? 128 + (exit?.sig ? (constants.signals[exit.sig] ?? 0) : 0);
      resolve({ code, stdout, stderr });
    };
    child.on('error', (e) => {
      spawnError = e;
      // No process was started, so no exit or close may follow.
      if (!child.pid) finish();
    });
    child.on('exit', (code, sig) => {
      exit = { code, sig };
      timers.push(
        setTimeout(() => {
          if (settled) return;
          // A dump whose stream never ended cannot be trusted to be complete.
          if (o.stdout)
            streamError ??= new Error(`${o.what} exited but a process it started still holds its output open`);
          childOut.destroy();
          void out.then(finish);
        }, PIPE_DRAIN_MS),
      );
    });
    child.on('close', () => {
      void out.then(finish);
    });
  });
}

/** The signal name behind an exit code above 128, for messages. */
export function signalOf(code: number): string | undefined {
  if (code <= 128) return undefined;
  const n = code - 128;
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
}
