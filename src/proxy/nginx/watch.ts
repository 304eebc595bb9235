/**
 * Counting for the live watch: nginx logs a JSON line per public request while watch.on exists
 * (tested per request, no reload), and stats() folds the log into per-colour figures.
 *
 * The log is never replaced, only truncated in place: nginx keeps its file open (O_APPEND), so a
 * new file would not be written. Turned on from off: truncate, then create watch.on with the start
 * time. Turned off: watch.on is renamed to watch.last with the end time, so the figures stay
 * readable (enabled: false, the last figures) until the next start. Lines are also filtered by
 * their time against that window: a worker may be writing the line of a request that ended just
 * before the truncation. The log is unbuffered (render-traffic.ts), so lines arrive in the order
 * requests end and a verdict never judges one worker's batch before another's.
 */
import fs from 'node:fs/promises';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import { emptyStats, type TrafficStats } from '../stats.js';
import { addLines, splitLines } from './access-log.js';
import type { NginxFiles } from './files.js';

interface Window {
  /** Epoch ms counting started. */
  since: number;
  /** Epoch ms it stopped (watch.last only). */
  until?: number;
}

const CHUNK = 1024 * 1024;

async function readWindow(file: string): Promise<Window | undefined> {
  const v = await readJson<Partial<Window>>(file).catch(() => undefined);
  return v && typeof v.since === 'number'
    ? { since: v.since, ...(typeof v.until === 'number' ? { until: v.until } : {}) }
    : undefined;
}

export async function watching(f: NginxFiles): Promise<boolean> {
  return fs.stat(f.watchFlag).then(
    () => true,
    () => false,
  );
}

export async function watchOn(f: NginxFiles): Promise<void> {
  if (await watching(f)) return;
  const since = Date.now();
  const fh = await fs.open(f.accessLog, 'a', 0o600);
  try {
    await fh.truncate(0);
  } finally {
    await fh.close();
  }
  await writeJsonAtomic(f.watchFlag, { since } satisfies Window, 0o600);
  await fs.rm(f.watchLast, { force: true });
}

export async function watchOff(f: NginxFiles): Promise<void> {
  const w = await readWindow(f.watchFlag);
  if (!(await watching(f))) return;
  // Written first, then the flag goes: nginx stops logging the moment watch.on disappears.
  await writeJsonAtomic(f.watchLast, { since: w?.since ?? 0, until: Date.now() } satisfies Window, 0o600);
  await fs.rm(f.watchFlag, { force: true });
}

/**
 * Reads the log incrementally: a byte offset and the unfinished last line are kept between calls,
 * and everything starts again when the counting window changed (another start) or the file shrank
 * (truncated). A fresh reader reads the whole file: the figures are the same from any process.
 */
export class LogReader {
  private window: Window | undefined;
  private offset = 0;
  private pending: Buffer = Buffer.alloc(0);
  private stats: TrafficStats = emptyStats(false);

  private reset(w: Window | undefined): void {
    this.window = w;
    this.offset = 0;
    this.pending = Buffer.alloc(0);
    this.stats = emptyStats(false);
  }

  private reading: Promise<unknown> = Promise.resolve();

  /**
   * The figures so far. One read at a time: two callers in one process (the live watch and the
   * deploy's timeline) would otherwise read the same bytes from the same offset and count them twice.
   */
  read(f: NginxFiles): Promise<TrafficStats> {
    const next = this.reading.then(() => this.readNow(f));
    this.reading = next.catch(() => undefined);
    return next;
  }

  private async readNow(f: NginxFiles): Promise<TrafficStats> {
    const on = await readWindow(f.watchFlag);
    const w = on ?? (await readWindow(f.watchLast));
    if (w?.since !== this.window?.since) this.reset(w);
    if (w) {
      this.window = w;
      await this.consume(f.accessLog, w);
    }
    return copy(this.stats, on !== undefined);
  }

  private async consume(file: string, w: Window): Promise<void> {
    const fh = await fs.open(file, 'r').catch(() => undefined);
    if (!fh) return;
    try {
      const { size } = await fh.stat();
      if (size < this.offset) this.reset(w);
      const buf = Buffer.alloc(Math.min(CHUNK, Math.max(1, size - this.offset)));
      while (this.offset < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - this.offset), this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        const { lines, rest } = splitLines(this.pending, buf.subarray(0, bytesRead));
        this.pending = rest;
        addLines(this.stats, lines, w.since, w.until);
      }
    } finally {
      await fh.close();
    }
  }
}

function copy(s: TrafficStats, enabled: boolean): TrafficStats {
  const out = emptyStats(enabled);
  for (const c of ['blue', 'green'] as const) out.colours[c] = { ...s.colours[c], latency: [...s.colours[c].latency] };
  return out;
}
