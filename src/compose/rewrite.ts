/**
 * A compose string as switchyard.yml can hold it: switchyard reads `${NAME}`, `${NAME:-default}`
 * and `$$` (src/config/env.ts), so those stay as written and secrets stay out of the file;
 * `$NAME` becomes `${NAME}`, `${NAME-d}` `${NAME:-d}`, `${NAME:?e}` `${NAME}` (switchyard refuses
 * to load without it). What switchyard cannot express (`:+`, nested defaults) is written as its
 * value, with a note, unless a secret-looking variable is involved: then `${NAME}`.
 */
import { SECRET_NAME } from '../config/env.js';
import { type Part, parseTemplate, resolveParts, type Vars } from './template.js';

export interface Rewritten {
  text: string;
  notes: string[];
}

const names = (parts: Part[]): string[] => parts.flatMap((p) => ('name' in p ? [p.name, ...names(p.arg ?? [])] : []));

const literal = (parts: Part[]): string | undefined =>
  parts.every((p) => 'lit' in p) ? parts.map((p) => ('lit' in p ? p.lit : '')).join('') : undefined;

export function rewriteForSwitchyard(raw: string, vars: Vars): Rewritten {
  const notes: string[] = [];
  let text = '';
  for (const p of parseTemplate(raw)) {
    if ('lit' in p) text += p.lit;
    else if ('dollar' in p) text += '$$';
    else if (p.op === undefined || p.op === ':?' || p.op === '?') text += `\${${p.name}}`;
    else {
      const def = literal(p.arg ?? []);
      if ((p.op === ':-' || p.op === '-') && def !== undefined && !def.includes('}')) {
        text += `\${${p.name}:-${def}}`;
        if (p.op === '-') notes.push(`\${${p.name}-...} written as \${${p.name}:-...} (also used when it is empty)`);
      } else if ([p.name, ...names(p.arg ?? [])].some((n) => SECRET_NAME.test(n))) {
        text += `\${${p.name}}`;
        notes.push(`\${${p.name}${p.op}...} written as \${${p.name}}: switchyard has no ${p.op} form`);
      } else {
        text += resolveParts([p], vars).value.replaceAll('$', () => '$$');
        notes.push(`\${${p.name}${p.op}...} written as its value now: switchyard has no such form`);
      }
    }
  }
  return { text, notes };
}
