/**
 * Writing values into nginx.conf safely. nginx's double-quoted strings escape only `"` and `\`;
 * strings that nginx evaluates per request (if -f operands, map values, add_header) also read `$`
 * as a variable and have no escape for it, so a literal `$` is written as ${sy_dollar}, a geo
 * variable whose value is "$". Regex keys use PCRE's \Q...\E around literal text.
 */
import { SwitchyardError } from '../../errors.js';

/** nginx double-quoted string: only `"` and `\\` need escaping. */
export const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** Declares $sy_dollar (geo values are plain text, never variables). */
export const DOLLAR_VARIABLE = ['  geo $sy_dollar {', '    default "$";', '  }'];

/** A double-quoted string that nginx evaluates as a complex value, with every `$` literal. */
export const qv = (s: string) => q(s).replace(/\$/g, '${sy_dollar}');

/** A double-quoted template: `literal` (every `$` literal) followed by `template` (raw: its variables work). */
export const qt = (literal: string, template: string) => `${qv(literal).slice(0, -1)}${template}"`;

/** PCRE literal text: \Q...\E quotes everything but "\E", so the text must not contain a backslash. */
export function regexLiteral(s: string): string {
  if (s.includes('\\')) throw new Error(`regexLiteral: backslash in ${JSON.stringify(s)}`);
  return `\\Q${s}\\E`;
}

export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The state folder's path goes into `if (-f ...)` and access_log, which nginx reads as templates:
 * a `$` there would become a variable. Refused with a clear message rather than a broken config.
 */
export function checkConfigPath(p: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[$\u0000-\u001f\u007f]/.test(p)) {
    throw new SwitchyardError(
      'PROXY_FAILED',
      `nginx cannot use the project folder ${JSON.stringify(p)}: its path contains "$" or a control character`,
      {
        hint: 'move the project to a folder whose path has neither',
      },
    );
  }
  return p;
}
