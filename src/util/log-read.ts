/**
 * Reading a log that util/log-rotate.ts rotates: everything that is kept (`<log>.<keep>` ... `<log>.1`,
 * then the live file), and following it across rotations (`logs -f`). A follower remembers the
 * rotation count and its offset in the live file; when the count moved on by one, the bytes it had
 * not read yet are in that rotation's pieces (which hold the live file's old bytes in order).
 */
import fs from 'node:fs';
import { readRotationRecord, rotated } from './log-rotate.js';

export interface Follow {
  seq: number;
  offset: number;
}

function readFrom(file: string, from: number): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= from) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - from);
    const n = fs.readSync(fd, buf, 0, buf.length, from);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

const size = (file: string) => fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;

/** The rotated files that exist, oldest first. */
export function rotatedFiles(file: string): string[] {
  const out: string[] = [];
  for (let i = 1; fs.existsSync(rotated(file, i)); i++) out.unshift(rotated(file, i));
  return out;
}

/** All that is kept of the log, oldest first, and where a follower goes on from. */
export function readAll(file: string): { text: string; follow: Follow } {
  for (;;) {
    const seq = readRotationRecord(file)?.seq ?? 0;
    const parts = rotatedFiles(file).map((f) => readFrom(f, 0));
    const live = readFrom(file, 0);
    // A rotation in between would have moved bytes under us: read again.
    if ((readRotationRecord(file)?.seq ?? 0) !== seq) continue;
    const end = live.lastIndexOf(0x0a) + 1; // a line still being written waits for the next read
    return {
      text: Buffer.concat([...parts, live.subarray(0, end)]).toString('utf8'),
      follow: { seq, offset: end },
    };
  }
}

/** What was written since `f` (complete lines), across at most one rotation; `note` when lines were skipped. */
export function readNew(file: string, f: Follow): { text: string; follow: Follow; note?: string } {
  for (;;) {
    const rec = readRotationRecord(file);
    const seq = rec?.seq ?? 0;
    const chunks: Buffer[] = [];
    let note: string | undefined;
    let offset = f.offset;
    if (rec && seq !== f.seq) {
      if (seq === f.seq + 1) {
        // The pieces hold the old live file's bytes [dropped, bytes), oldest piece first.
        let skip = offset - rec.dropped;
        if (skip < 0) {
          note = `${-skip} bytes of ${file} were rotated away before they could be read (logs.keep)`;
          skip = 0;
        }
        for (let i = rec.pieces; i >= 1; i--) {
          const piece = readFrom(rotated(file, i), 0);
          if (skip >= piece.length) {
            skip -= piece.length;
            continue;
          }
          chunks.push(piece.subarray(skip));
          skip = 0;
        }
      } else {
        note =
          `${file} was rotated ${seq - f.seq} times since the last read;` +
          ` the lines in between are in ${file}.1 and up`;
      }
      offset = 0;
    }
    if (size(file) < offset) offset = 0; // emptied by someone else
    const live = readFrom(file, offset);
    if ((readRotationRecord(file)?.seq ?? 0) !== seq) continue;
    const end = live.lastIndexOf(0x0a) + 1;
    chunks.push(live.subarray(0, end));
    return {
      text: Buffer.concat(chunks).toString('utf8'),
      follow: { seq, offset: offset + end },
      ...(note ? { note } : {}),
    };
  }
}
