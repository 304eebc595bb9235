/**
 * Turns zod issues into one readable line per problem: `<dotted.path>: <what is wrong> (got <value>)`.
 * zod's own messages ("Invalid input: expected int, received number") are written for developers;
 * these are for someone editing switchyard.yml.
 */
import type { z } from 'zod';

export interface Problem {
  /** Dotted path in the config, e.g. "services.api.port.blue"; "" for the top level. */
  path: string;
  message: string;
  /** The offending value, shown as short JSON; undefined = nothing to show (e.g. a missing key). */
  got?: unknown;
}

type Issue = z.core.$ZodIssue;
type Key = PropertyKey;

export function shortJson(v: unknown, max = 60): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Control characters (C0, DEL, C1, line/paragraph separators), which could break or forge output lines. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from the config (keys, names, paths) made safe to print on one line: control characters
 * become escapes (`\n`, `\u001b`), so a key cannot add lines of its own or drive the terminal.
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatProblem(p: Problem): string {
  const where = p.path === '' ? '(top level)' : p.path;
  return printable(`${where}: ${p.message}${p.got === undefined ? '' : ` (got ${shortJson(p.got)})`}`);
}

export function valueAt(data: unknown, path: readonly Key[]): unknown {
  let v: unknown = data;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<Key, unknown>)[k];
  }
  return v;
}

const dotted = (path: readonly Key[]) => path.map(String).join('.');

const TYPE_NAMES: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
};
const typeName = (t: string) => TYPE_NAMES[t] ?? t;

/** All problems for a failed parse of `data` against `schema`. */
export function formatIssues(issues: readonly Issue[], data: unknown, schema: z.ZodType, base: Key[] = []): Problem[] {
  return issues.flatMap((i) => formatIssue(i, data, schema, [...base, ...i.path]));
}

function formatIssue(issue: Issue, data: unknown, schema: z.ZodType, path: Key[]): Problem[] {
  const got = valueAt(data, path);
  const at = dotted(path);
  switch (issue.code) {
    case 'invalid_type':
      if (got === undefined) return [{ path: at, message: `required: ${typeName(issue.expected)}` }];
      return [{ path: at, message: `expected ${typeName(issue.expected)}`, got }];
    case 'too_small':
    case 'too_big':
      return [{ path: at, message: sizeMessage(issue), got }];
    case 'invalid_value':
      return [
        {
          path: at,
          message:
            issue.values.length === 1
              ? `expected ${shortJson(issue.values[0])}`
              : `expected one of ${issue.values.map((v) => shortJson(v)).join(', ')}`,
          got,
        },
      ];
    case 'invalid_format':
      return [
        {
          path: at,
          message: issue.message.startsWith('Invalid') ? `has the wrong format (${issue.format})` : issue.message,
          got,
        },
      ];
    case 'invalid_key': {
      const inner = issue.issues[0];
      const why = inner && !inner.message.startsWith('Invalid') ? inner.message : 'is not a valid key';
      return [{ path: at, message: `invalid key: ${why}`, got: path[path.length - 1] }];
    }
    case 'unrecognized_keys': {
      const known = knownKeys(schema, path);
      return issue.keys.map((k) => {
        const near = suggest(k, known);
        const tip = near ? ` (did you mean "${near}"?)` : known.length ? ` (known keys: ${known.join(', ')})` : '';
        return { path: dotted([...path, k]), message: `unknown key${tip}` };
      });
    }
    case 'invalid_union':
      // A discriminated union that matched no option carries no per-option errors, only its message.
      if (issue.errors.length === 0) return [{ path: at, message: issue.message, got }];
      return formatUnion(issue.errors, data, schema, path);
    default:
      return [{ path: at, message: issue.message, got }];
  }
}

function sizeMessage(issue: Extract<Issue, { code: 'too_small' | 'too_big' }>): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case 'string':
      if (small && limit === 1) return 'must not be empty';
      return `must be at ${small ? 'least' : 'most'} ${limit} characters`;
    case 'array':
    case 'set':
      return `needs at ${small ? 'least' : 'most'} ${limit} item${limit === 1 ? '' : 's'}`;
    default:
      if (!inclusive) return `must be ${small ? 'greater' : 'less'} than ${limit}`;
      return `must be at ${small ? 'least' : 'most'} ${limit}`;
  }
}

/**
 * A union failed: say which types were possible when the value had none of them, otherwise report
 * the branch the value most looks like (fewest missing/unknown keys), e.g. a smoke step with
 * `request` is judged as an HTTP step.
 */
function formatUnion(branches: Issue[][], data: unknown, schema: z.ZodType, path: Key[]): Problem[] {
  const got = valueAt(data, path);
  const rootType = (errs: Issue[]) =>
    errs.length === 1 && errs[0]?.code === 'invalid_type' && errs[0].path.length === 0;
  if (branches.every(rootType)) {
    const types = [
      ...new Set(branches.map((e) => typeName((e[0] as Extract<Issue, { code: 'invalid_type' }>).expected))),
    ];
    if (got === undefined) return [{ path: dotted(path), message: `required: ${types.join(' or ')}` }];
    return [{ path: dotted(path), message: `expected ${types.join(' or ')}`, got }];
  }
  const shapeMisses = (errs: Issue[]) =>
    errs.filter((e) => e.code === 'unrecognized_keys' || valueAt(data, [...path, ...e.path]) === undefined).length;
  const onlyMissing = branches.filter(
    (errs) =>
      !rootType(errs) && errs.every((e) => e.path.length === 1 && valueAt(data, [...path, ...e.path]) === undefined),
  );
  if (onlyMissing.length === branches.length && branches.length > 1) {
    const keys = branches.map((errs) => errs.map((e) => `"${String(e.path[0])}"`).join(' + '));
    return [{ path: dotted(path), message: `needs ${keys.join(' or ')}`, got }];
  }
  const ranked = branches
    .filter((errs) => !rootType(errs))
    .sort((a, b) => shapeMisses(a) - shapeMisses(b) || a.length - b.length);
  const best = ranked[0] ?? branches[0] ?? [];
  return formatIssues(best, data, schema, path);
}

/** The keys an object at `path` may have, found by walking the schema (zod internals, read-only). */
export function knownKeys(schema: z.ZodType, path: readonly Key[]): string[] {
  let nodes: unknown[] = [schema];
  for (const k of [...path, null]) {
    nodes = nodes.flatMap(unwrap);
    if (k === null) break;
    nodes = nodes.flatMap((n) => {
      const def = defOf(n);
      if (def?.type === 'object') return def.shape?.[String(k)] ? [def.shape[String(k)]] : [];
      if (def?.type === 'record') return [def.valueType];
      if (def?.type === 'array') return [def.element];
      return [];
    });
  }
  const keys = nodes.flatMap((n) => Object.keys(defOf(n)?.shape ?? {}));
  return [...new Set(keys)];
}

interface LooseDef {
  type?: string;
  shape?: Record<string, unknown>;
  valueType?: unknown;
  element?: unknown;
  innerType?: unknown;
  in?: unknown;
  options?: unknown[];
}
const defOf = (n: unknown): LooseDef | undefined => (n as { _zod?: { def?: LooseDef } })?._zod?.def;

function unwrap(n: unknown): unknown[] {
  const def = defOf(n);
  if (!def) return [];
  if (def.type === 'union') return (def.options ?? []).flatMap(unwrap);
  if (def.innerType) return unwrap(def.innerType);
  if (def.type === 'pipe') return unwrap(def.in);
  return [n];
}

/** The closest known key within a small edit distance, for "did you mean". */
export function suggest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return bestD <= Math.max(1, Math.min(3, Math.floor(word.length / 3))) ? best : undefined;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
