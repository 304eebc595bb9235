/**
 * A command inside a running colour container (the migrate hook), through the Engine API: argv as
 * given (a string is run by /bin/sh -c only with shell: true), the container's own environment
 * plus `env`, output collected (tail kept), bounded by the command's timeout and the signal. On
 * timeout or abort the process is killed from the host by its pid (the engine runs here).
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { argvOf } from '../../util/run-command.js';
import type { ExecCommand, ExecOutcome } from '../types.js';
import { apiMessage } from './client.js';

const MAX_OUTPUT_CHARS = 64 * 1024;
const TAIL_LINES = 15;

export async function execInContainer(docker: Docker, container: string, command: ExecCommand, opts: { env?: Record<string, string>; signal?: AbortSignal } = {}): Promise<ExecOutcome> {
  const argv = argvOf(command);
  let exec: Docker.Exec;
  let stream: NodeJS.ReadWriteStream;
  try {
    const c = docker.getContainer(container);
    const info = await c.inspect();
    if (!info.State.Running) return { ok: false, detail: `container ${container} is not running (${info.State.Status})` };
    exec = await c.exec({ Cmd: argv, Env: Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`), AttachStdout: true, AttachStderr: true });
    stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadWriteStream;
  } catch (e) {
    return { ok: false, detail: `could not run ${argv[0]} in container ${container}: ${apiMessage(e)}` };
  }
  let output = '';
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => (output = (output + c.toString('utf8')).slice(-MAX_OUTPUT_CHARS)));
  docker.modem.demuxStream(stream, sink, sink);

  let why: 'timeout' | 'abort' | undefined;
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  const stopped = new Promise<void>((resolve) => {
    const timer = setTimeout(() => ((why = 'timeout'), resolve()), command.timeout);
    const onAbort = () => ((why = 'abort'), resolve());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    void ended.then(() => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    });
  });
  await Promise.race([ended, stopped]);
  const tail = () => {
    const lines = output.trimEnd().split('\n');
    return output.trim() ? `\n${lines.slice(-TAIL_LINES).join('\n')}` : '';
  };
  if (why) {
    const pid = (await exec.inspect().catch(() => undefined))?.Pid;
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    (stream as unknown as { destroy?: () => void }).destroy?.();
    return { ok: false, detail: why === 'timeout' ? `timed out after ${command.timeout} ms and was killed${tail()}` : 'cancelled' };
  }
  const code = (await exec.inspect()).ExitCode;
  if (code === 0) return { ok: true, detail: '' };
  const missing = code === 126 || code === 127 ? ` (${argv[0]} not found or not executable in the image)` : '';
  return { ok: false, detail: `${argv.join(' ')} exited with code ${code}${missing} in container ${container}${tail()}` };
}
