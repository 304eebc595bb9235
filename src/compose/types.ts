/** Shared shapes of the compose converter: notes, source locations, paths, and the error it throws. */
import { SwitchyardError } from '../errors.js';

/** One line of output: a decision or something switchyard cannot express, with where it came from. */
export interface ComposeNote {
  /** The compose file, relative to the project folder. */
  file: string;
  line: number;
  message: string;
}

export interface Loc {
  file: string;
  line: number;
}

/** A path into the compose model: keys and sequence indexes. */
export type Path = (string | number)[];

export const pathKey = (p: Path): string => JSON.stringify(p);

/** Whether `key` (a pathKey) is `prefix` itself or lies under it. */
export function under(key: string, prefix: Path): boolean {
  const head = pathKey(prefix);
  if (key === head) return true;
  const open = head.slice(0, -1);
  return key.startsWith(open) && (prefix.length === 0 ? key !== '[]' : key[open.length] === ',');
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonMap = { [k: string]: Json };

export const isMap = (v: unknown): v is JsonMap => typeof v === 'object' && v !== null && !Array.isArray(v);

export const COMPOSE_HINT = 'fix the compose file (docker compose config shows how docker reads it), then run it again';

/** Bad input: a SwitchyardError (exit 2) whose message starts with file:line. */
export function composeError(at: Loc, message: string, hint = COMPOSE_HINT): SwitchyardError {
  return new SwitchyardError('COMPOSE_INVALID', `${at.file}:${at.line}: ${message}`, { hint });
}

/** A property set on a fresh object, never through the prototype chain ("__proto__" stays a key). */
export function setKey<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}
