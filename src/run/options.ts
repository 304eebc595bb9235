/**
 * What a library caller passes to an operation, checked before anything runs (no lock, no backup,
 * no build): every problem is reported at once as one usage error (exit 2), as a config problem
 * would be. The CLI's parsers already refuse bad values; a program calling `deploy(e, { canary:
 * [-5] })` gets the same answer instead of finding out after the backup, build and health steps.
 */
import * as z from 'zod';
import { canarySteps } from '../config/canary-schema.js';
import { formatIssues, formatProblem } from '../config/format-issues.js';
import { COLOURS } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';

const flag = z.boolean().optional();
const colour = z.enum(COLOURS);
const ref = z.string().min(1).optional();

export const initOptions = z.object({ skipTests: flag, ref, forceUnlock: flag }).strict();

export const deployOptions = z
  .object({
    skipTests: flag,
    autoSwitch: flag,
    yes: flag,
    keepOld: flag,
    skipBackup: flag,
    pull: flag,
    ref,
    forceUnlock: flag,
    recover: flag,
    canary: canarySteps.optional(),
    /** Milliseconds. */
    stepWait: z.number().int().positive().optional(),
  })
  .strict();

export const rollbackOptions = z.object({ force: flag, forceUnlock: flag, recover: flag }).strict();

export const switchOptions = z
  .object({ force: flag, forceUnlock: flag, weight: z.number().int().min(0).max(100).optional() })
  .strict();

export const downOptions = z
  .object({ colour: colour.optional(), forceUnlock: flag, shared: flag, volumes: flag, yes: flag })
  .strict();

export const upOptions = z.object({ forceUnlock: flag }).strict();

/** `opts` as `schema` reads it, or a USAGE error naming every problem. */
export function checkOptions<S extends z.ZodType>(operation: string, schema: S, opts: unknown): z.output<S> {
  const r = schema.safeParse(opts ?? {});
  if (r.success) return r.data;
  const problems = formatIssues(r.error.issues, opts, schema).map(formatProblem);
  throw new SwitchyardError(
    'USAGE',
    `invalid options for ${operation} (${problems.length} problem${problems.length === 1 ? '' : 's'})`,
    {
      details: problems,
      hint:
        `see the ${operation} options in the library's types (DeployOptions, ...)` +
        ` or \`switchyard ${operation} --help\``,
    },
  );
}

const colourArgument = z.object({ colour });

/** The target colour of a switch, as the CLI's parser would check it. */
export function checkColour(operation: string, value: unknown): void {
  checkOptions(operation, colourArgument, { colour: value });
}
