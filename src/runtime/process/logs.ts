/** Log files for builds and services: appended to, never truncated, read back for error tails. */
import fs from 'node:fs/promises';
import path from 'node:path';

export const TAIL_LINES = 20;

/** Opens a log for appending (creating its folder), returning the handle and the current size. */
export async function openLog(file: string): Promise<{ fh: fs.FileHandle; offset: number }> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const fh = await fs.open(file, 'a', 0o600);
  const { size } = await fh.stat();
  return { fh, offset: size };
}

/** The last `lines` lines written after `offset` (what this run printed), capped at 64 KiB. */
export async function tailLog(file: string, offset = 0, lines = TAIL_LINES): Promise<string> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(file, 'r');
    const { size } = await fh.stat();
    const start = Math.max(offset, size - 64 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    await fh.read(buf, 0, buf.length, start);
    return buf
      .toString('utf8')
      .split('\n')
      .filter((l, i, a) => l.length > 0 || i < a.length - 1)
      .slice(-lines)
      .join('\n');
  } catch {
    return '';
  } finally {
    await fh?.close();
  }
}
