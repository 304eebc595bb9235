/**
 * The request timeline of the last deploy (.switchyard/timeline.json): the proxy's per-colour
 * requests and errors, one point a second from the deploy's start to its end, and its steps. Written
 * once, atomically, when the deploy ends (src/run/timeline.ts); the dashboard shows it.
 */
import path from 'node:path';
import * as z from 'zod';
import { COLOURS } from '../config/schema.js';
import { readJson, writeJsonAtomic } from './atomic.js';
import type { ProjectPaths } from './paths.js';

/** At one point a second: an hour of deploy. A longer one keeps its first hour. */
export const TIMELINE_MAX_POINTS = 3_600;

const colour = z.enum(COLOURS);
const counts = z.object({ requests: z.number(), errors: z.number() });
export const timelineSchema = z.object({
  version: z.literal(1),
  operation: z.string(),
  type: z.string(),
  from: colour.nullable(),
  to: colour.nullable(),
  release: z.string().nullable(),
  startedAt: z.string(),
  endedAt: z.string(),
  result: z.enum(['success', 'failed']),
  error: z.string().optional(),
  /** Per second: what each colour answered during that second (differences of the proxy's counters). */
  points: z.array(z.object({ t: z.number(), blue: counts, green: counts })).max(TIMELINE_MAX_POINTS),
  steps: z.array(
    z.object({
      title: z.string(),
      kind: z.string().optional(),
      status: z.string(),
      startedAt: z.string(),
      endedAt: z.string().optional(),
    }),
  ),
});
export type Timeline = z.infer<typeof timelineSchema>;
export type TimelinePoint = Timeline['points'][number];

export const timelineFile = (paths: ProjectPaths) => path.join(paths.dir, 'timeline.json');

export async function writeTimeline(paths: ProjectPaths, t: Timeline): Promise<void> {
  await writeJsonAtomic(timelineFile(paths), t);
}

/** The last deploy's timeline, or undefined when there is none (or it cannot be read: it is only shown). */
export async function readTimeline(paths: ProjectPaths): Promise<Timeline | undefined> {
  const raw = await readJson(timelineFile(paths)).catch(() => undefined);
  const parsed = timelineSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
