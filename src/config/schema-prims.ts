/** Building blocks shared by the config schema's parts: colours, names, durations, ports, commands, paths. */
import { z } from 'zod';
import { parseDuration } from './duration.js';

export const COLOURS = ['blue', 'green'] as const;
export type Colour = (typeof COLOURS)[number];

export const name = (what: string) =>
  z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, `${what} must be 1-40 characters of a-z, 0-9 and "-", starting with a letter`);

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

/** A command: an argument array (run as is) or a string (split on spaces, or run by /bin/sh when shell: true). */
export const command = z.union([z.string().min(1), z.array(z.string()).min(1)]);

export const httpPath = z.string().regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces');

