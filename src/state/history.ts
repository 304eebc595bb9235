/**
 * history.jsonl: one line per init/deploy/rollback/switch/down/restore/recover, appended; secrets redacted before
 * writing (I8).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Colour } from '../config/schema.js';
import type { ProjectPaths } from './paths.js';

/** A colour's figures over a live watch's window, as a verdict judged them and history records them. */
export interface Figures {
  requests: number;
  errors: number;
  failures: number;
  /** Fraction 0..1. */
  errorRate: number;
  /** Upper bound of the p99 bucket, ms; undefined without requests. */
  p99Ms?: number;
}

export interface HistoryRecord {
  id: string;
  /** `restart`: an event, not an operation: the supervisor started an exited process again. */
  type:
    | 'init'
    | 'deploy'
    | 'rollback'
    | 'switch'
    | 'down'
    | 'restore'
    | 'recover'
    | 'maintenance'
    | 'preview'
    | 'up'
    | 'restart';
  time: string;
  who: string;
  from: Colour | null;
  to: Colour | null;
  release: string | null;
  result: 'success' | 'failed' | 'aborted';
  reason?: string;
  ms: number;
  flags?: string[];
  /** Path of the database backup the operation took. */
  backup?: string;
  /** The live watch's last verdict (deploy with deploy.rollbackOn): the figures it judged. */
  watch?: WatchRecord;
  /** switch --weight: the percentage of clients sent to `to`. */
  weight?: number;
  /** restart: the service the supervisor started again. */
  service?: string;
}

export interface WatchRecord {
  /** Percentage of clients on the new colour when judged (100 = after the full switch). */
  percent: number;
  windowMs: number;
  verdict: 'ok' | 'fail' | 'waiting';
  reasons: string[];
  target: Figures;
  baseline: Figures | null;
  /** Automatic rollback: how long from the verdict until all traffic was back (ms). */
  rollbackMs?: number;
}

export function whoAmI(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no passwd entry (containers): keep "unknown" */
  }
  return `${user}@${os.hostname()}`;
}

export async function appendHistory(
  paths: ProjectPaths,
  record: HistoryRecord,
  redact: (s: string) => string,
): Promise<void> {
  await fs.mkdir(path.dirname(paths.history), { recursive: true, mode: 0o700 });
  // One write of one line with O_APPEND: concurrent appends never interleave within a line.
  await fs.appendFile(paths.history, redact(JSON.stringify(record)) + '\n', { mode: 0o600 });
}

export async function readHistory(paths: ProjectPaths): Promise<HistoryRecord[]> {
  let text: string;
  try {
    text = await fs.readFile(paths.history, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: HistoryRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as HistoryRecord);
    } catch {
      // A torn last line (crash mid-append) is skipped, not fatal.
    }
  }
  return out;
}
