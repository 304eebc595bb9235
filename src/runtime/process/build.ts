/**
 * Running a service's build in its release folder. The build runs in its own process group so a
 * timeout or an abort can stop everything it started (npm spawns children), not just the top pid.
 */
import { spawn } from 'node:child_process';
import { SwitchyardError } from '../../errors.js';
import { describeArgv, type Argv } from './command.js';
import { openLog, tailLog } from './logs.js';
import { indent } from '../../util/indent.js';
import { signalGroup } from '../../util/procinfo.js';

/** After SIGTERM on timeout/abort, how long the build gets before SIGKILL. */
const BUILD_KILL_GRACE_MS = 3_000;

export interface BuildOptions {
  service: string;
  argv: Argv;
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  timeoutMs: number;
  signal?: AbortSignal;
  redact: (text: string) => string;
}

export async function runBuild(o: BuildOptions): Promise<void> {
  if (o.signal?.aborted) throw new SwitchyardError('ABORTED', `build of ${o.service} interrupted`);
  const { fh, offset: logStart } = await openLog(o.logFile);
  const header =
    `--- switchyard: build ${o.service}: ${o.redact(describeArgv(o.argv))}` + ` (${new Date().toISOString()}) ---\n`;
  await fh.write(header);
  // Error tails show what the process printed, not our header.
  const offset = logStart + Buffer.byteLength(header);
  let outcome: { code: number | null; sig: NodeJS.Signals | null; error?: Error; why?: 'timeout' | 'abort' };
  try {
    outcome = await new Promise((resolve) => {
      const child = spawn(o.argv.file, o.argv.args, {
        cwd: o.cwd,
        env: o.env,
        stdio: ['ignore', fh.fd, fh.fd],
        detached: true,
      });
      let why: 'timeout' | 'abort' | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const kill = (reason: 'timeout' | 'abort') => {
        if (why || child.pid === undefined) return;
        why = reason;
        signalGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => child.pid !== undefined && signalGroup(child.pid, 'SIGKILL'), BUILD_KILL_GRACE_MS);
      };
      const timer = setTimeout(() => kill('timeout'), o.timeoutMs);
      const onAbort = () => kill('abort');
      o.signal?.addEventListener('abort', onAbort, { once: true });
      const done = (r: { code: number | null; sig: NodeJS.Signals | null; error?: Error }) => {
        clearTimeout(timer);
        clearTimeout(killTimer);
        o.signal?.removeEventListener('abort', onAbort);
        resolve(why ? { ...r, why } : r);
      };
      child.once('error', (error) => done({ code: null, sig: null, error }));
      child.once('exit', (code, sig) => {
        // The group may outlive its leader (a daemonising build step); do not leave it behind.
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        done({ code, sig });
      });
    });
  } finally {
    await fh.close();
  }
  if (outcome.code === 0 && !outcome.why) return;
  const tail = o.redact(await tailLog(o.logFile, offset));
  const cmd = o.redact(describeArgv(o.argv));
  const details = [`command: ${cmd}`, `log: ${o.logFile}`, 'last lines:', indent(tail)];
  if (outcome.why === 'abort') throw new SwitchyardError('ABORTED', `build of ${o.service} interrupted`, { details });
  if (outcome.why === 'timeout') {
    throw new SwitchyardError(
      'TIMEOUT',
      `build of ${o.service} did not finish within ${Math.round(o.timeoutMs / 1000)}s`,
      {
        details,
        hint: `raise services.${o.service}.buildTimeout, or look at the log for a step that waits on input`,
      },
    );
  }
  const how = outcome.error
    ? `could not run: ${outcome.error.message}`
    : outcome.sig
      ? `was killed by ${outcome.sig}`
      : `exited with code ${outcome.code}`;
  throw new SwitchyardError('BUILD_FAILED', `build of ${o.service} ${how}\n${indent(tail)}`, {
    details: [`command: ${cmd}`, `log: ${o.logFile}`],
    hint: `fix the build and deploy again; full output in ${o.logFile}`,
  });
}
