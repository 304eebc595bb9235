/** Argument parsing helpers shared by commands: colours and durations are validated before anything runs. */
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../config/duration.js';
import { isColour, type Colour } from '../config/schema.js';

export function parseColour(value: string): Colour {
  if (!isColour(value)) throw new InvalidArgumentError(`unknown colour ${JSON.stringify(value)}: expected "blue" or "green"`);
  return value;
}

export function parseSeconds(value: string): number {
  const ms = parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value);
  if (ms === undefined) throw new InvalidArgumentError(`expected a number of seconds or a duration like "30s", got ${JSON.stringify(value)}`);
  return ms;
}
