/** Argument parsing helpers shared by commands: colours and durations are validated before anything runs. */
import { InvalidArgumentError, type OutputConfiguration } from 'commander';
import { printable } from '../config/format-issues.js';
import { parseDuration } from '../config/duration.js';
import { isColour, type Colour } from '../config/schema.js';
import { parseCanarySteps } from '../config/canary-schema.js';

/** Quoted values in an error are cut to their first 60 characters: a 100 kB argument makes no 100 kB message. */
export function clipQuoted(text: string, max = 60): string {
  return text.replace(/(['"])((?:(?!\1)[^\n]){61,})\1/g, (_m, q: string, body: string) =>
    body.length <= max ? `${q}${body}${q}` : `${q}${body.slice(0, max)}…${q} (${body.length} characters)`,
  );
}

export function parseColour(value: string): Colour {
  if (!isColour(value))
    throw new InvalidArgumentError(`unknown colour ${JSON.stringify(value)}: expected "blue" or "green"`);
  return value;
}

/** A whole number >= 1 (counts, limits): "abc", "1.5", "-3" or "0" are refused before anything runs. */
export function parseCount(value: string): number {
  const n = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1)) throw new InvalidArgumentError(`expected a whole number of at least 1, got ${JSON.stringify(value)}`);
  return n;
}

/** "10,50,100": increasing percentages ending at 100. */
export function parseCanary(value: string): number[] {
  const r = parseCanarySteps(value);
  if (!r.steps) throw new InvalidArgumentError(r.error ?? 'invalid');
  return r.steps;
}

/** A percentage of clients for `switch --weight`: a whole number 0..100. */
export function parseWeight(value: string): number {
  const n = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 100))
    throw new InvalidArgumentError(`expected a whole percentage from 0 to 100, got ${JSON.stringify(value)}`);
  return n;
}

export function parseSeconds(value: string): number {
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value);
  if (ms === undefined)
    throw new InvalidArgumentError(
      `expected a number of seconds or a duration like "30s", got ${JSON.stringify(value)}`,
    );
  return ms;
}

/** Commander's "did you mean" line: built from our own command and option names, never from input. */
const SUGGESTION = /\n(\(Did you mean (?:one of )?[\w\-, ]+\?\))$/;

/**
 * Commander quotes the offending argument in its errors ("unknown command 'x'"). An argument may
 * hold line breaks or terminal escapes: print them escaped, so the error stays one line of plain
 * text. Commander's suggestion, which it puts after a line break, keeps its own line.
 */
export function formatCommanderError(text: string): string {
  const body = text.replace(/\n$/, '');
  const m = SUGGESTION.exec(body);
  const message = m ? body.slice(0, m.index) : body;
  return `${clipQuoted(printable(message))}\n${m ? `${m[1]}\n` : ''}`;
}

export const safeOutput: OutputConfiguration = {
  outputError: (text, write) => write(formatCommanderError(text)),
};
