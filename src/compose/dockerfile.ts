/**
 * The image a service's Dockerfile finally starts from, when it is cheap to tell: the last FROM,
 * with `${ARG}` filled from the compose build args or the `ARG NAME=default` before it, and a
 * stage name followed to the image that stage starts from. Unknown (undefined) otherwise.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, type Json } from './types.js';

export interface DockerfileBase {
  /** The image, variables filled in. */
  image: string;
  /** The FROM as written, when it differs (`${BASE}`). */
  written?: string;
}

type Args = Record<string, string | undefined>;

/** Docker's `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME:+alt}`; undefined when a name has no value. */
function substitute(s: string, args: Args): string | undefined {
  let unknown = false;
  const out = s.replace(/\$(?:\{([A-Za-z_]\w*)(?::([-+])([^}]*))?\}|([A-Za-z_]\w*))/g, (_, a, op, word, b) => {
    const v = args[(a ?? b) as string];
    if (op === '-') return v ? v : (word as string);
    if (op === '+') return v ? (word as string) : '';
    if (v === undefined) unknown = true;
    return v ?? '';
  });
  return unknown ? undefined : out;
}

/** The instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

export function dockerfileBase(dir: string, build: Json | undefined): DockerfileBase | undefined {
  if (!isMap(build) || typeof build.context !== 'string' || build.context.includes('://')) return undefined;
  const file = path.resolve(dir, build.context, typeof build.dockerfile === 'string' ? build.dockerfile : 'Dockerfile');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const given: Args = {};
  if (isMap(build.args))
    for (const [k, v] of Object.entries(build.args)) if (v !== null && typeof v !== 'object') given[k] = String(v);
  const args: Args = {};
  const stages = new Map<string, string | undefined>();
  let last: DockerfileBase | undefined;
  let seenFrom = false;
  for (const line of instructions(text)) {
    const arg = /^ARG\s+([A-Za-z_]\w*)(?:=(\S*))?/i.exec(line);
    if (arg && !seenFrom) {
      const name = arg[1] as string;
      const def = arg[2]?.replace(/^(["'])(.*)\1$/, '$2');
      args[name] = given[name] ?? (def === undefined ? undefined : substitute(def, args));
      continue;
    }
    const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    seenFrom = true;
    const written = from[1] as string;
    const filled = substitute(written, args);
    const image = filled !== undefined && stages.has(filled.toLowerCase()) ? stages.get(filled.toLowerCase()) : filled;
    if (from[2]) stages.set(from[2].toLowerCase(), image);
    last = image === undefined ? undefined : { image, ...(written !== image ? { written } : {}) };
  }
  return last;
}
