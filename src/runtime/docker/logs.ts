/** The last lines a container printed, for error messages (the full stream is `switchyard logs`). */
import type Docker from 'dockerode';
import { call } from './client.js';

export const TAIL_LINES = 20;

/**
 * Without a TTY the engine multiplexes stdout and stderr in frames: 1 byte stream, 3 zero bytes,
 * 4 bytes big-endian length, then the payload. Anything that does not look like a frame is text.
 */
export function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    if ((kind !== 0 && kind !== 1 && kind !== 2) || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return buf.toString('utf8');
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

export async function containerTail(docker: Docker, id: string, lines = TAIL_LINES): Promise<string> {
  try {
    const out = (await call('container logs', () => docker.getContainer(id).logs({ stdout: true, stderr: true, tail: lines, follow: false }))) as unknown;
    const text = Buffer.isBuffer(out) ? demux(out) : String(out);
    return text.split('\n').filter((l) => l.length > 0).slice(-lines).join('\n');
  } catch {
    return '';
  }
}
