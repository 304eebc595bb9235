/** The last lines a container printed, for error messages (the full stream is `switchyard logs`). */
import type Docker from 'dockerode';
import { call } from './client.js';

export const TAIL_LINES = 20;

/** Opens one log: the whole of it (a Buffer) without follow, a stream with. */
export type LogSource = (id: string, o: { follow: boolean; tail?: number }) => Promise<unknown>;

/**
 * Without a TTY the engine multiplexes stdout and stderr in frames: 1 byte stream, 3 zero bytes,
 * 4 bytes big-endian length, then the payload. Anything that does not look like a frame is text.
 */
export function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    if ((kind !== 0 && kind !== 1 && kind !== 2) || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0)
      return buf.toString('utf8');
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

export async function containerTail(
  docker: Docker,
  id: string,
  lines = TAIL_LINES,
  open: LogSource = (i, o) => docker.getContainer(i).logs({ stdout: true, stderr: true, ...o, follow: false }),
): Promise<string> {
  try {
    const out = (await call('logs', () => open(id, { follow: false, tail: lines }))) as unknown;
    const text = Buffer.isBuffer(out) ? demux(out) : String(out);
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .slice(-lines)
      .join('\n');
  } catch {
    return '';
  }
}

/**
 * `switchyard logs <colour> [service] [-f]` for containers: the engine's log stream, stdout and
 * stderr demultiplexed by dockerode's modem, each line prefixed with its container's label when
 * several containers are shown (the instance key: `api`, `api.2`, `web`).
 */
export async function streamLogs(
  docker: Docker,
  containers: Array<{ id: string; label: string }>,
  opts: { follow: boolean; signal?: AbortSignal },
  write: (line: string) => void,
  /** Where the log comes from (default: the container's; a swarm task's through the manager). */
  open: LogSource = (id, o) =>
    docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, ...o } as Docker.ContainerLogsOptions & { follow: true }),
): Promise<void> {
  const prefix = containers.length > 1;
  await Promise.all(
    containers.map(async ({ id, label }) => {
      if (!opts.follow) {
        // Without follow the engine answers with the whole log at once (a Buffer).
        const buf = (await open(id, { follow: false })) as unknown as Buffer;
        for (const l of demux(buf).split('\n')) if (l) write(prefix ? `${label} | ${l}` : l);
        return;
      }
      const stream = (await open(id, { follow: true })) as unknown as NodeJS.ReadableStream;
      let partial = '';
      const sink = new (await import('node:stream')).Writable({
        write(chunk: Buffer, _enc, done) {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) write(prefix ? `${label} | ${l}` : l);
          done();
        },
      });
      docker.modem.demuxStream(stream, sink, sink);
      await new Promise<void>((resolve) => {
        let finished = false;
        const finish = () => {
          if (finished) return;
          finished = true;
          if (partial) write(prefix ? `${label} | ${partial}` : partial);
          resolve();
        };
        const stop = () => ((stream as unknown as { destroy?: () => void }).destroy?.(), finish());
        stream.on('end', finish);
        stream.on('error', finish);
        // A Ctrl-C that came while the stream was being opened has already fired: end at once.
        if (opts.signal?.aborted) return stop();
        opts.signal?.addEventListener('abort', stop, { once: true });
      });
    }),
  );
}
