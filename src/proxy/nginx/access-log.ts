/**
 * nginx's JSON access log, the source of the per-colour figures (nginx counts nothing per colour
 * without a module): the log_format the renderer uses and a pure parser for it. Lines arrive in
 * chunks that may end mid-line; garbage and truncated lines are skipped, never thrown on.
 */
import { isColour, type Colour } from '../../config/schema.js';
import { record, type TrafficStats } from '../stats.js';

/**
 * One request per line. Everything is quoted (escape=json), so "-" or an empty value never makes
 * the line invalid JSON. `t` is $msec (when the request ended), `uh` the upstream header time:
 * "-" when no upstream answered at all.
 */
export const LOG_FORMAT_NAME = 'sy_json';
export const LOG_FORMAT =
  `'{"t":"$msec","c":"$sy_colour","s":"$status","rt":"$request_time",` +
  `"us":"$upstream_status","ut":"$upstream_response_time","uh":"$upstream_header_time","ua":"$upstream_addr"}'`;

export interface LogEntry {
  /** Epoch ms the request ended. */
  at: number;
  colour: Colour;
  status: number;
  ms: number;
  /** nginx answered 502/503/504 itself: the backend gave no answer (refused, reset, timed out, no server). */
  failed: boolean;
}

/** The last of a comma/colon separated list ("502, 200" after a retry, "x : y" after an internal redirect). */
export function lastValue(v: string): string {
  const parts = v.split(/\s*[,:]\s*/);
  return (parts[parts.length - 1] ?? '').trim();
}

const NO_VALUE = new Set(['', '-']);

/**
 * One line, or undefined when it does not describe a request a colour's backend was asked to
 * answer: garbage, a truncated line, or a request nginx answered itself (maintenance 503, no route
 * 404: no upstream address).
 */
export function parseLine(line: string): LogEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const c = str('c');
  const ua = str('ua');
  if (!isColour(c) || ua === undefined || NO_VALUE.has(ua)) return undefined;
  const at = Number(str('t'));
  const status = Number(str('s'));
  const seconds = Number(str('rt'));
  if (
    !Number.isFinite(at) ||
    !Number.isInteger(status) ||
    status < 0 ||
    status > 999 ||
    !Number.isFinite(seconds) ||
    seconds < 0
  )
    return undefined;
  // Header time "-": the (last) upstream never sent a response header, so nginx made the 5xx up.
  const noAnswer = NO_VALUE.has(lastValue(str('uh') ?? '-'));
  return {
    at: Math.round(at * 1000),
    colour: c,
    status,
    ms: seconds * 1000,
    failed: status >= 502 && status <= 504 && noAnswer,
  };
}

/** A line longer than this never ends (garbage): it is dropped rather than kept growing. */
export const MAX_LINE = 64 * 1024;

/**
 * Splits `pending + chunk` into complete lines and what is left after the last newline (bytes,
 * always a copy: the caller may reuse `chunk`'s memory).
 */
export function splitLines(pending: Buffer, chunk: Buffer): { lines: string[]; rest: Buffer } {
  const all = Buffer.concat([pending, chunk]);
  const end = all.lastIndexOf(0x0a);
  if (end < 0) return { lines: [], rest: all.length > MAX_LINE ? Buffer.alloc(0) : all };
  const lines = all
    .subarray(0, end)
    .toString('utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return { lines, rest: Buffer.from(all.subarray(end + 1)) };
}

/** Adds the lines that fall in the counting window [since, until] to `stats`; returns how many counted. */
export function addLines(
  stats: TrafficStats,
  lines: string[],
  since: number,
  until = Number.POSITIVE_INFINITY,
): number {
  let n = 0;
  for (const line of lines) {
    const e = parseLine(line);
    if (!e || e.at < since || e.at > until) continue;
    record(stats.colours[e.colour], e.status, e.ms, e.failed);
    n++;
  }
  return n;
}
