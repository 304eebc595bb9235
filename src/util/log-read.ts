/**
 * Reading a log that util/log-rotate.ts rotates: everything that is kept (`<log>.<keep>` ... `<log>.1`,
 * then the live file), and following it across rotations (`logs -f`). A follower remembers the
 * rotation count and its offset in the live file; when the count moved on, the bytes it had not
 * read yet are in those rotations' pieces (which hold the live file's old bytes in order).
 */
import fs from 'node:fs';
import { readRotationRecord, readRotations, rotated, type RotationRecord } from './log-rotate.js';

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

/**
 * The bytes the rotations after `f.seq` moved out of the live file that `f` had not read, oldest
 * first. Rotation r's pieces now sit at numbers (pieces of the rotations after r) + 1 .. + pieces(r),
 * oldest piece highest; a piece beyond logs.keep is gone, and says so in `lost`.
 */
function rotatedSince(file: string, f: Follow, since: RotationRecord[]): { chunks: Buffer[]; lost: number } {
  const chunks: Buffer[] = [];
  let lost = 0;
  let newer = since.reduce((n, r) => n + r.pieces, 0);
  for (const [k, r] of since.entries()) {
    newer -= r.pieces;
    // The first rotation holds the old live file from where `f` stopped; later ones from 0.
    let skip = (k === 0 ? f.offset : 0) - r.dropped;
    if (skip < 0) {
      lost += -skip;
      skip = 0;
    }
    for (let i = newer + r.pieces; i > newer; i--) {
      if (!fs.existsSync(rotated(file, i))) {
        lost += 1;
        continue;
      }
      const piece = readFrom(rotated(file, i), 0);
      if (skip >= piece.length) {
        skip -= piece.length;
        continue;
      }
      chunks.push(piece.subarray(skip));
      skip = 0;
    }
  }
  return { chunks, lost };
}

/** What was written since `f` (complete lines), across rotations; `note` when lines could not be read. */
export function readNew(file: string, f: Follow): { text: string; follow: Follow; note?: string } {
  for (;;) {
    const all = readRotations(file);
    const seq = all.at(-1)?.seq ?? 0;
    const chunks: Buffer[] = [];
    let note: string | undefined;
    let offset = f.offset;
    if (seq !== f.seq) {
      const since = all.filter((r) => r.seq > f.seq);
      if (since[0]?.seq === f.seq + 1) {
        const got = rotatedSince(file, f, since);
        chunks.push(...got.chunks);
        if (got.lost > 0) note = `some lines of ${file} were rotated away before they could be read (logs.keep)`;
      } else {
        note = `${file} was rotated too often since the last read; the lines in between are in ${file}.1 and up`;
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
