/**
 * A command inside a running colour container (the migrate hook), through the Engine API: argv as
 * given (a string is run by /bin/sh -c only with shell: true), the container's own environment
 * plus `env`, output collected (tail kept), bounded by the command's timeout and the signal. On
 * timeout or abort the program is stopped inside the container by its marker (exec-control.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { argvOf } from '../../util/run-command.js';
import type { ExecCommand, ExecOutcome } from '../types.js';
import { apiMessage } from './client.js';
import { api, EXEC_MARKER, sleep, stopMarked } from './exec-control.js';
import { Collector, demuxStream } from './exec-streams.js';

const MAX_OUTPUT = 64 * 1024;
const TAIL_LINES = 15;
const EXIT_WAIT_MS = 10_000;

export async function execInContainer(
  docker: Docker,
  container: string,
  command: ExecCommand,
  opts: { env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<ExecOutcome> {
  const argv = argvOf(command);
  const marker = randomBytes(12).toString('hex');
  const env = { ...opts.env, [EXEC_MARKER]: marker };
  let exec: Docker.Exec;
  let socket: Duplex;
  try {
    const c = docker.getContainer(container);
    const info = await api(docker, 'inspect', () => c.inspect());
    if (!info.State.Running)
      return { ok: false, detail: `container ${container} is not running (${info.State.Status})` };
    exec = await api(docker, 'exec create', () =>
      c.exec({
        Cmd: argv,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        AttachStdout: true,
        AttachStderr: true,
      }),
    );
    socket = (await api(docker, 'exec start', () => exec.start({ hijack: true, stdin: false }))) as Duplex;
  } catch (e) {
    return { ok: false, detail: `could not run ${argv[0]} in container ${container}: ${apiMessage(e)}` };
  }
  const output = new Collector(MAX_OUTPUT, 'tail');
  const tail = () => {
    const text = output.text().trimEnd();
    return text ? `\n${text.split('\n').slice(-TAIL_LINES).join('\n')}` : '';
  };

  let why: 'timeout' | 'abort' | undefined;
  let onStop!: () => void;
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  const timer = setTimeout(() => ((why ??= 'timeout'), onStop()), command.timeout);
  const onAbort = () => ((why ??= 'abort'), onStop());
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const pumping = demuxStream(
      socket,
      (b) => output.add(b),
      (b) => output.add(b),
    ).catch(() => undefined);
    await Promise.race([pumping, stopped]);
    if (why) {
      const note = await stopMarked(docker, container, marker, exec, true);
      return {
        ok: false,
        detail:
          why === 'timeout'
            ? `timed out after ${command.timeout} ms and was stopped${note ? ` (${note})` : ''}${tail()}`
            : 'cancelled',
      };
    }
    let code: number | null = null;
    for (const t0 = performance.now(); performance.now() - t0 < EXIT_WAIT_MS; await sleep(50)) {
      const x = await api(docker, 'exec inspect', () => exec.inspect());
      if (!x.Running && x.ExitCode !== null) {
        code = x.ExitCode;
        break;
      }
    }
    if (code === 0) return { ok: true, detail: '' };
    if (code === null)
      return {
        ok: false,
        detail: `${argv.join(' ')} in container ${container}: its output ended but the engine still reports it running`,
      };
    const missing = code === 126 || code === 127 ? ` (${argv[0]} not found or not executable in the image)` : '';
    return {
      ok: false,
      detail: `${argv.join(' ')} exited with code ${code}${missing} in container ${container}${tail()}`,
    };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}
