/** Building blocks shared by the config schema's parts: colours, names, durations, ports, commands, paths. */
import * as z from 'zod';
import { parseDuration } from './duration.js';

export const COLOURS = ['blue', 'green'] as const;
export type Colour = (typeof COLOURS)[number];

export const name = (what: string) =>
  z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, `${what} must be 1-40 characters of a-z, 0-9 and "-", starting with a letter`)
    // Names become keys of plain objects (backends, environments): "constructor" would be found on every one.
    .refine((n) => !(n in Object.prototype), {
      message: `${what} must not be a name JavaScript objects already have (such as "constructor")`,
      abort: true,
    });

/** Durations become milliseconds. */
export const duration = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as "500ms", "30s" or "2m"` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'A duration: "500ms", "30s", "2m", "1h", or a number of seconds.' });

export const port = z.number().int().min(1).max(65535);

/** No NUL: the operating system cannot pass one in an argument or a variable (spawn would throw). */
export const noNul = (s: string) => !s.includes('\u0000');
const argWord = z.string().refine(noNul, 'must not contain a NUL character');

/**
 * A command: an argument array (run as is) or a string (split on spaces, or run by /bin/sh when
 * shell: true). Never empty: a blank string or an empty program name has nothing to run.
 */
export const command = z.union([
  argWord.refine((s) => /\S/.test(s), 'must not be empty or blank'),
  z
    .array(argWord)
    .min(1)
    .refine((a) => (a[0] ?? '') !== '', 'the first item (the program) must not be empty'),
]);

/**
 * A request target as it goes on the wire: printable ASCII only (percent-encode the rest), so never a space, CR, LF or
 * NUL.
 */
export const httpPath = z
  .string()
  .regex(
    /^\/[\u0021-\u007e]*$/,
    'must start with "/" and contain only printable ASCII, no spaces (percent-encode anything else)',
  );

/** RFC 9110 field-name: a token. */
export const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-)");
/** A field value as Node sends it: tab, visible ASCII, space and Latin-1; never CR, LF or NUL (no header injection). */
export const headerValue = z
  .string()
  .regex(
    /^[\t\u0020-\u007e\u0080-\u00ff]*$/,
    'must not contain line breaks, control characters or characters beyond Latin-1',
  );
