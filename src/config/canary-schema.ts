/**
 * deploy.canary / deploy.stepWait / deploy.watch / deploy.rollbackOn: gradual shifts and the live
 * watch that rolls a deploy back by itself (issue 6). Part of the `deploy:` section.
 */
import * as z from 'zod';
import { duration } from './schema-prims.js';

/** "2%" or a number of percent (2 = 2%); becomes a fraction (0.02). */
export const percentage = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const m = typeof v === 'number' ? [String(v), String(v)] : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
    const n = m ? Number(m[1]) : Number.NaN;
    if (!(n >= 0 && n <= 100)) {
      ctx.addIssue({ code: 'custom', message: 'expected a percentage such as "2%" (0-100)' });
      return z.NEVER;
    }
    return n / 100;
  })
  .meta({ description: 'A percentage: "2%", or a number of percent.' });

/** "2x" (relative to the old colour) or a duration ("500ms", absolute). */
export const latencyLimit = z
  .union([z.string(), z.number()])
  .transform((v, ctx): { factor: number } | { ms: number } => {
    const x = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*x\s*$/.exec(v) : null;
    if (x) {
      const factor = Number(x[1]);
      if (factor >= 1) return { factor };
    } else {
      const s = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$/.exec(v) : null;
      if (s) return { ms: Math.round(Number(s[1]) * (s[2] === 's' ? 1000 : 1)) };
    }
    ctx.addIssue({
      code: 'custom',
      message: 'expected a factor of the old colour\'s p99 such as "2x" (at least 1x), or a limit such as "500ms"',
    });
    return z.NEVER;
  })
  .meta({ description: 'p99 limit: "2x" the old colour, or an absolute "500ms".' });

export const rollbackOnSchema = z
  .object({
    /**
     * Rolls back when the new colour's error rate (5xx + connection failures) exceeds the old colour's by more than
     * this.
     */
    errorRate: percentage.optional().meta({
      description:
        "rolls back when the new colour's error rate (5xx and connection failures) exceeds the old colour's by " +
        'more than this (`"2%"`)',
    }),
    /** Rolls back when the new colour's p99 latency exceeds this ("2x" the old colour's, or "500ms"). */
    p99: latencyLimit.optional().meta({
      description:
        "rolls back when the new colour's p99 latency exceeds this: " +
        '`"2x"` (that of the old colour) or an absolute `"500ms"`',
    }),
    /** No verdict before the new colour served this many requests in the window. */
    minRequests: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(100)
      .meta({ description: 'no verdict before the new colour served this many requests in the window' }),
    /** p99 differences smaller than this are noise and never trip a relative ("2x") limit. */
    latencyFloor: duration.default(25).meta({
      description: 'p99 differences smaller than this are noise and never trip a relative (`"2x"`) limit',
      'x-default': '25ms',
    }),
  })
  .strict()
  .refine(
    (r) => r.errorRate !== undefined || r.p99 !== undefined,
    'give at least one threshold: errorRate (e.g. "2%") or p99 (e.g. "2x")',
  );

/** Canary steps: increasing percentages, the last one 100 ("10,50,100" on the command line). */
export const canarySteps = z
  .array(z.number().int().min(1).max(100))
  .min(1)
  .refine((a) => a.every((p, i) => i === 0 || p > a[i - 1]!), 'the percentages must increase')
  .refine((a) => a[a.length - 1] === 100, 'the last step must be 100 (all traffic)');

export const canaryFields = {
  /** Shift traffic in these steps (percent of clients on the new colour); absent = one switch. */
  canary: canarySteps.optional().meta({
    description:
      'canary steps: increasing percentages of clients on the new colour, ending at 100; without it, one ' +
      'switch; `--canary` overrides',
  }),
  /** How long each canary step below 100% is watched before the next. */
  stepWait: duration.default(60_000).meta({
    description: 'how long each canary step below 100 lasts; `--step-wait` overrides',
    'x-default': '60s',
  }),
  /**
   * How long the new colour is watched after it takes all traffic (needs rollbackOn); the old colour keeps running
   * meanwhile.
   */
  watch: duration.default(60_000).meta({
    description:
      'with `rollbackOn`: how long the new colour is watched after it takes all traffic (the old colour keeps ' +
      'running meanwhile)',
    'x-default': '60s',
  }),
  /** Thresholds of the live watch; absent = no watch and no automatic rollback. */
  rollbackOn: rollbackOnSchema.optional().meta({
    description:
      '`{ errorRate: "2%", p99: "2x" or "500ms", minRequests: 100, latencyFloor: 25ms }`: ' +
      "the live watch's thresholds; without it nothing is watched",
  }),
};

export type RollbackOn = z.output<typeof rollbackOnSchema>;

/** Parses "10,50,100" from the command line with the same rules; undefined + message when invalid. */
export function parseCanarySteps(text: string): { steps?: number[]; error?: string } {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d{1,3}$/.test(p)))
    return { error: `expected percentages like "10,50,100", got ${JSON.stringify(text)}` };
  const r = canarySteps.safeParse(parts.map(Number));
  return r.success
    ? { steps: r.data }
    : { error: `${r.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(text)})` };
}
