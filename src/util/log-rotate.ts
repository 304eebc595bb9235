/**
 * Size-based rotation of a log whose writer holds it open (O_APPEND) and never reopens it: an app's
 * stdout, the proxy daemon's, the supervisor's own. "Paused copytruncate":
 *
 * 1. while the writer runs, the file's first `size1` bytes are copied into pieces of at most
 *    `maxSize`, cut at line ends;
 * 2. the writer's process group is stopped (SIGSTOP; its writes to a regular file complete before
 *    it stops), the bytes written meanwhile are copied too, the pieces are renamed into place
 *    (`<log>.1` newest, up to `<log>.<keep>`; older ones deleted), the file is truncated to 0 and the
 *    group continued (SIGCONT). The pause is milliseconds; its last steps are synchronous, so a
 *    writer in this very process cannot slip a line in between either.
 *
 * Nothing is lost and the app is not restarted. Plain copytruncate (logrotate, pm2-logrotate) loses
 * what is written between the copy and the truncate; renaming needs a writer that reopens its file.
 * A crash between the renames and the truncate leaves the tail twice (never missing), and a group
 * left stopped by a crash is continued by the next supervisor (continueGroup). `<log>.rotated`
 * records the last rotations (a sequence number, the pieces and bytes each moved) so `logs -f`
 * can read across them.
 */
import fs from 'node:fs';
import { groupStopped, processState, signalGroup } from './procinfo.js';
import { sleep } from './sleep.js';

export interface RotateOptions {
  maxSize: number;
  /** Rotated files kept; 0 keeps none (the file is only truncated). */
  keep: number;
  /** The process group that writes the file (stopped for the last steps); absent: only this process writes it. */
  writerGroup?: number;
}

export interface RotationRecord {
  /** Counts rotations of this log, so a reader can tell one happened even if the file grew back past its offset. */
  seq: number;
  at: string;
  /** Pieces written by this rotation, now `<log>.<pieces>` (oldest) to `<log>.1`. */
  pieces: number;
  /** Bytes the live file held, all of them in those pieces unless `dropped` > 0 (keep too small). */
  bytes: number;
  dropped: number;
}

export interface RotateResult extends RotationRecord {
  pausedMs: number;
}

const CHUNK = 1024 * 1024;
/** How long the writer may take to stop; beyond it, it is continued and the rotation waits for the next round. */
const STOP_WAIT_MS = 1_000;
/** Copying while the writer runs goes on until less than this is left to copy during the pause. */
const PAUSE_COPY_BYTES = 256 * 1024;
const CATCH_UP_ROUNDS = 8;

/** Waits until the group's leader, then every process of it, is stopped; false after STOP_WAIT_MS. */
async function waitStopped(pgid: number): Promise<boolean> {
  const deadline = performance.now() + STOP_WAIT_MS;
  for (;;) {
    // The leader first (one small read), then the whole group (a scan of /proc).
    const leader = await processState(pgid);
    if ((leader === undefined || 'TtZX'.includes(leader)) && (await groupStopped(pgid))) return true;
    if (performance.now() > deadline) return false;
    await sleep(1);
  }
}

export const rotated = (file: string, n: number) => `${file}.${n}`;
export const recordFile = (file: string) => `${file}.rotated`;

/** How many rotations `<log>.rotated` remembers (a follower behind by more starts over at the live file). */
const RECORDS_KEPT = 50;

/** The last rotations of the log, oldest first. */
export function readRotations(file: string): RotationRecord[] {
  try {
    const r = JSON.parse(fs.readFileSync(recordFile(file), 'utf8')) as { rotations?: RotationRecord[] };
    return Array.isArray(r.rotations) ? r.rotations : [];
  } catch {
    return [];
  }
}

export function readRotationRecord(file: string): RotationRecord | undefined {
  return readRotations(file).at(-1);
}

/** Writes bytes into pieces of at most maxSize, each cut after a newline where one is in reach. */
class Pieces {
  readonly files: string[] = [];
  private fd = -1;
  private size = 0;
  constructor(
    private readonly base: string,
    private readonly maxSize: number,
  ) {}

  write(buf: Buffer): void {
    let rest = buf;
    while (rest.length > 0) {
      if (this.fd < 0 || this.size >= this.maxSize) this.next();
      const room = this.maxSize - this.size;
      let n = rest.length;
      if (n > room) {
        const nl = rest.lastIndexOf(0x0a, room - 1);
        // No line end within reach: an empty piece takes a hard cut, a started one ends here.
        n = nl >= 0 ? nl + 1 : this.size > 0 ? 0 : room;
      }
      if (n === 0) {
        this.next();
        continue;
      }
      fs.writeSync(this.fd, rest, 0, n);
      this.size += n;
      rest = rest.subarray(n);
    }
  }

  private next(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    const f = `${this.base}.rotating-${process.pid}-${this.files.length}`;
    this.fd = fs.openSync(f, 'w', 0o600);
    this.files.push(f);
    this.size = 0;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  discard(): void {
    this.close();
    for (const f of this.files) fs.rmSync(f, { force: true });
  }
}

function copyRange(fd: number, from: number, to: number, out: Pieces | undefined): void {
  if (!out) return;
  const buf = Buffer.alloc(Math.min(CHUNK, Math.max(to - from, 1)));
  for (let pos = from; pos < to; ) {
    const n = fs.readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
    if (n <= 0) break;
    out.write(buf.subarray(0, n));
    pos += n;
  }
}

/** Continues a group a crashed rotation may have left stopped (harmless on a running one). */
export function continueGroup(pgid: number): void {
  signalGroup(pgid, 'SIGCONT');
}

/** Rotates `file` when it has reached maxSize; undefined when it has not (or the writer would not stop). */
export async function rotateIfNeeded(file: string, o: RotateOptions): Promise<RotateResult | undefined> {
  let size1: number;
  try {
    size1 = fs.statSync(file).size;
  } catch {
    return undefined;
  }
  if (size1 < o.maxSize) return undefined;
  const pieces = o.keep > 0 ? new Pieces(file, o.maxSize) : undefined;
  const fd = fs.openSync(file, 'r');
  let stopped = false;
  try {
    // 1. While the writer runs, catch up until little is left for the pause.
    let copied = 0;
    for (let round = 0, end = size1; round < CATCH_UP_ROUNDS; round++) {
      copyRange(fd, copied, end, pieces);
      copied = end;
      end = fs.fstatSync(fd).size;
      if (end - copied < PAUSE_COPY_BYTES) break;
    }
    const t0 = performance.now();
    if (o.writerGroup !== undefined) {
      stopped = signalGroup(o.writerGroup, 'SIGSTOP');
      if (stopped && !(await waitStopped(o.writerGroup))) {
        pieces?.discard();
        return undefined;
      }
    }
    // 2. Synchronous from here to the truncate: nothing of this process runs in between.
    const size2 = fs.fstatSync(fd).size;
    copyRange(fd, copied, size2, pieces);
    pieces?.close();
    const made = pieces?.files ?? [];
    const kept = Math.min(made.length, o.keep);
    for (let i = o.keep; i >= 1; i--) {
      if (!fs.existsSync(rotated(file, i))) continue;
      if (i + kept > o.keep) fs.rmSync(rotated(file, i), { force: true });
      else fs.renameSync(rotated(file, i), rotated(file, i + kept));
    }
    // The newest pieces are kept; with keep < pieces, the oldest go.
    const dropped = made.slice(0, made.length - kept);
    let droppedBytes = 0;
    for (const f of dropped) {
      droppedBytes += fs.statSync(f).size;
      fs.rmSync(f, { force: true });
    }
    const keptPieces = made.slice(made.length - kept);
    for (const [j, f] of keptPieces.entries()) fs.renameSync(f, rotated(file, kept - j));
    const before = readRotations(file);
    const record: RotationRecord = {
      seq: (before.at(-1)?.seq ?? 0) + 1,
      at: new Date().toISOString(),
      pieces: kept,
      bytes: size2,
      dropped: o.keep > 0 ? droppedBytes : size2,
    };
    const rotations = [...before, record].slice(-RECORDS_KEPT);
    fs.writeFileSync(recordFile(file), `${JSON.stringify({ rotations })}\n`, { mode: 0o600 });
    fs.truncateSync(file, 0);
    return { ...record, pausedMs: Math.round(performance.now() - t0) };
  } catch (e) {
    pieces?.discard();
    throw e;
  } finally {
    if (stopped && o.writerGroup !== undefined) continueGroup(o.writerGroup);
    fs.closeSync(fd);
  }
}
