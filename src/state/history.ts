/**
 * history.jsonl: one line per init/deploy/rollback/switch/down/restore/recover, appended; secrets redacted before
 * writing (I8).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Colour } from '../config/schema.js';
import { newOperationId } from '../util/operation-id.js';
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
  /** restart: the service the supervisor started again (`proxy` for the proxy). */
  service?: string;
  /** deploy: canary steps ended early from outside it (`switchyard canary promote|abort`, the dashboard). */
  canaryControl?: CanaryControlRecord[];
  /** What asked for it when not the CLI: `dashboard` for an action sent from `switchyard dashboard`. */
  origin?: string;
}

/** A canary step a deploy ended early because another process asked (run/canary-control.ts). */
export interface CanaryControlRecord {
  action: 'promote' | 'abort';
  /** The step's percent. */
  percent: number;
  /** user@host who asked, and from where (`cli`, `dashboard`). */
  by: string;
  origin: string;
  /** How long the step had waited (ms). */
  afterMs: number;
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

/**
 * A `restart` event (not an operation): the supervisor started a service of `colour`, or the
 * proxy in front of it, again (or could not: `error`). `at` is when it began (epoch ms).
 */
export async function appendRestart(
  paths: ProjectPaths,
  e: { at: number; colour: Colour; release: string | null; service: string; reason: string; error?: string },
  redact: (s: string) => string,
): Promise<void> {
  await appendHistory(
    paths,
    {
      id: newOperationId(),
      type: 'restart',
      time: new Date(e.at).toISOString(),
      who: `supervisor@${os.hostname()}`,
      from: null,
      to: e.colour,
      release: e.release,
      result: e.error === undefined ? 'success' : 'failed',
      reason: e.reason,
      ms: Date.now() - e.at,
      service: e.service,
    },
    redact,
  );
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
