/**
 * Variables in switchyard.yml: a small dotenv parser and `${NAME}` / `${NAME:-default}` / `$$`
 * interpolation. Written here rather than taken from a package so the exact rules (and the
 * error for each missing variable, with its config path) are ours and tested.
 */
import { mapStrings } from '../util/tree.js';

/** Parse dotenv text: KEY=VALUE lines, `export ` prefix, # comments, single/double quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue; // Like most dotenv readers, a line that is not KEY=VALUE is ignored.
    const key = m[1] as string;
    let rest = m[2] as string;
    const q = rest[0];
    if (q === '"' || q === "'" || q === '`') {
      // A quoted value may span lines until its closing quote.
      let body = rest.slice(1);
      let end = findClosing(body, q);
      while (end < 0 && i + 1 < lines.length) {
        body += '\n' + (lines[++i] as string);
        end = findClosing(body, q);
      }
      const raw = end < 0 ? body : body.slice(0, end);
      out[key] = q === '"' ? unescapeDouble(raw) : raw;
      continue;
    }
    // Unquoted: a " #" starts a comment; "a#b" keeps its hash (URLs, passwords).
    const hash = rest.search(/\s#/);
    if (hash >= 0) rest = rest.slice(0, hash);
    out[key] = rest.trim();
  }
  return out;
}

function findClosing(s: string, q: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && q === '"') i++;
    else if (s[i] === q) return i;
  }
  return -1;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t' };

function unescapeDouble(s: string): string {
  return s.replace(/\\([nrt"\\$])/g, (_, c: string) => ESCAPES[c] ?? c);
}

export interface Interpolation {
  value: string;
  /** Names referenced and found (their values may be secrets). */
  used: string[];
  /** Names referenced with no value and no default. */
  missing: string[];
  /** True when the whole string was one `${...}` reference (so "8080" may become a number). */
  whole: boolean;
}

const REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replace `${NAME}`, `${NAME:-default}` (default also when empty, as in sh) and `$$` -> `$`. */
export function interpolate(input: string, vars: Record<string, string | undefined>): Interpolation {
  const used: string[] = [];
  const missing: string[] = [];
  let refs = 0;
  let literal = false;
  const value = input.replace(REF, (_match, name: string | undefined, def: string | undefined) => {
    if (name === undefined) {
      literal = true;
      return '$';
    }
    refs++;
    const v = vars[name];
    if (v !== undefined && (v !== '' || def === undefined)) {
      used.push(name);
      return v;
    }
    if (def !== undefined) return def;
    missing.push(name);
    return '';
  });
  const whole = refs === 1 && !literal && /^\$\{[^}]*\}$/.test(input);
  return { value, used, missing, whole };
}

/** "8080" -> 8080, "true" -> true; only when the text round-trips exactly (so "0123" stays text). */
export function coerceScalar(s: string): string | number | boolean {
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(s) && String(Number(s)) === s) return Number(s);
  return s;
}

export interface EnvProblem {
  path: string;
  name: string;
}

export interface InterpolatedTree {
  value: unknown;
  problems: EnvProblem[];
  /** Every variable name that was found and used. */
  used: Set<string>;
}

/** Interpolate every string value (not keys) of a parsed YAML tree, keeping the dotted path of each. */
export function interpolateTree(tree: unknown, vars: Record<string, string | undefined>): InterpolatedTree {
  const problems: EnvProblem[] = [];
  const used = new Set<string>();
  const value = mapStrings(tree, (s, at) => {
    const path = at.join('.');
    const r = interpolate(s, vars);
    for (const n of r.used) used.add(n);
    for (const n of r.missing) problems.push({ path, name: n });
    return r.whole && r.missing.length === 0 ? coerceScalar(r.value) : r.value;
  });
  return { value, problems, used };
}

/** Names whose values are treated as secrets (I8). */
export const SECRET_NAME = /PASS|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE/i;
