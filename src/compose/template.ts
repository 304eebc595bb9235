/**
 * Compose's variable syntax: `$$`, `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
 * `${NAME:?error}`, `${NAME?error}`, `${NAME:+alt}`, `${NAME+alt}`, defaults nesting further
 * references. parseTemplate reads a string into parts; resolveParts gives compose's value.
 */
export type Op = ':-' | '-' | ':?' | '?' | ':+' | '+';
export type Part = { lit: string } | { dollar: true } | { name: string; op?: Op; arg?: Part[] };

export class TemplateError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const OPS: Op[] = [':-', ':?', ':+', '-', '?', '+'];

/** Reads `s` from `i` up to an unmatched `}` (when `inBrace`) or its end. */
function parseFrom(s: string, i: number, inBrace: boolean): { parts: Part[]; end: number } {
  const parts: Part[] = [];
  let lit = '';
  const flush = () => {
    if (lit) parts.push({ lit });
    lit = '';
  };
  while (i < s.length) {
    const c = s[i] as string;
    if (inBrace && c === '}') {
      flush();
      return { parts, end: i };
    }
    if (c !== '$') {
      lit += c;
      i++;
      continue;
    }
    const next = s[i + 1];
    if (next === '$') {
      flush();
      parts.push({ dollar: true });
      i += 2;
      continue;
    }
    const bare = NAME.exec(s.slice(i + 1));
    if (next !== '{' && bare) {
      flush();
      parts.push({ name: bare[0] });
      i += 1 + bare[0].length;
      continue;
    }
    if (next !== '{')
      throw new TemplateError(`invalid interpolation "${s}": a lone "$" (write "$$" for a dollar sign)`);
    const named = NAME.exec(s.slice(i + 2));
    if (!named) throw new TemplateError(`invalid interpolation "${s}": expected a variable name after "\${"`);
    flush();
    let j = i + 2 + named[0].length;
    if (s[j] === '}') {
      parts.push({ name: named[0] });
      i = j + 1;
      continue;
    }
    const op = OPS.find((o) => s.startsWith(o, j));
    if (!op)
      throw new TemplateError(`invalid interpolation "${s}": unexpected "${s[j] ?? 'end'}" after \${${named[0]}`);
    j += op.length;
    const inner = parseFrom(s, j, true);
    if (s[inner.end] !== '}') throw new TemplateError(`invalid interpolation "${s}": missing "}"`);
    parts.push({ name: named[0], op, arg: inner.parts });
    i = inner.end + 1;
  }
  if (inBrace) return { parts, end: s.length };
  flush();
  return { parts, end: i };
}

export function parseTemplate(s: string): Part[] {
  return parseFrom(s, 0, false).parts;
}

export type Vars = Record<string, string | undefined>;

export interface Resolved {
  value: string;
  /** Names referenced that have no value and no default: compose uses "" for them (with a warning). */
  unset: string[];
}

export function resolveParts(parts: Part[], vars: Vars, unset: string[] = []): Resolved {
  let value = '';
  for (const p of parts) {
    if ('lit' in p) value += p.lit;
    else if ('dollar' in p) value += '$';
    else {
      const v = Object.hasOwn(vars, p.name) ? vars[p.name] : undefined;
      const set = v !== undefined;
      const full = set && v !== '';
      const arg = () => resolveParts(p.arg ?? [], vars, unset).value;
      switch (p.op) {
        case ':-':
          value += full ? v : arg();
          break;
        case '-':
          value += set ? v : arg();
          break;
        case ':?':
        case '?':
          if (p.op === ':?' ? !full : !set)
            throw new TemplateError(`required variable ${p.name} is missing a value: ${arg() || 'not set'}`);
          value += v;
          break;
        case ':+':
          value += full ? arg() : '';
          break;
        case '+':
          value += set ? arg() : '';
          break;
        default:
          if (!set) unset.push(p.name);
          value += v ?? '';
      }
    }
  }
  return { value, unset };
}
