/**
 * How another process ends a running deploy's canary step early (`switchyard canary promote|abort`,
 * the dashboard) without the lock the deploy holds: it leaves a request in
 * .switchyard/canary-request.json for the lock holder, which takes it (a rename: one taker), acts
 * on it and answers in .switchyard/canary-ack.json. A request names the operation and the step's
 * percent it is meant for; one that does not match the running step is stale and only answered
 * `ignored`. Files and pure rules here; both sides of the exchange are in run/canary-control.ts.
 */
import fs from 'node:fs/promises';
import * as z from 'zod';
import { readJson, writeJsonAtomic } from './atomic.js';
import type { JournalData } from './journal.js';
import type { ProjectPaths } from './paths.js';

export const CANARY_ACTIONS = ['promote', 'abort'] as const;
export type CanaryAction = (typeof CANARY_ACTIONS)[number];

export const isCanaryAction = (s: unknown): s is CanaryAction =>
  typeof s === 'string' && (CANARY_ACTIONS as readonly string[]).includes(s);

export const canaryRequestSchema = z.object({
  /** Random, per request: the answer names it. */
  id: z.string().min(1),
  /** The journal id of the deploy it is meant for. */
  operation: z.string().min(1),
  action: z.enum(CANARY_ACTIONS),
  /** The percent of the canary step it is meant for. */
  percent: z.number(),
  /** user@host (history's `who`). */
  by: z.string(),
  /** `cli`, or the engine's origin (`dashboard`). */
  origin: z.string(),
  /** When it was written (ISO). */
  at: z.string(),
});
export type CanaryRequest = z.infer<typeof canaryRequestSchema>;

export const canaryAckSchema = canaryRequestSchema.extend({
  outcome: z.enum(['promoted', 'aborted', 'ignored']),
  /** What the deploy did, in words (or why it ignored the request). */
  message: z.string(),
  /** How long the step had waited when the deploy took the request. */
  afterMs: z.number().optional(),
  answeredAt: z.string(),
});
export type CanaryAck = z.infer<typeof canaryAckSchema>;

/** The canary step a deploy is waiting in, as its journal says. */
export interface RunningCanary {
  operation: string;
  percent: number;
  startedAt: string;
}

/**
 * Pure: the canary step a request may act on now, from the journal and whether its owner runs,
 * or why there is none (and what to do).
 */
export function runningCanary(
  j: JournalData | undefined,
  ownerRuns: boolean,
): RunningCanary | { refused: string; hint: string } {
  if (!j)
    return {
      refused: 'no deploy is running',
      hint: 'a canary step can only be promoted or aborted while `switchyard deploy --canary ...` waits in it',
    };
  if (!ownerRuns)
    return {
      refused: `the ${j.type} ${j.id} was interrupted (its process is gone): no deploy is running`,
      hint: '`switchyard status` shows where it stopped; `switchyard recover` ends its split and undoes it',
    };
  if (j.type !== 'deploy')
    return {
      refused: `the running operation is a ${j.type} (${j.id}), not a deploy`,
      hint: 'only a deploy with canary steps (deploy --canary or deploy.canary) can be promoted or aborted',
    };
  if (!j.canary || j.canary.percent >= 100) {
    const last = j.steps.at(-1);
    return {
      refused: `deploy ${j.id} is not in a canary step${last ? ` (its step now: ${last.title}, ${last.status})` : ''}`,
      hint: 'promote and abort act on a canary step below 100% while it waits; `switchyard status` shows the deploy',
    };
  }
  return { operation: j.id, percent: j.canary.percent, startedAt: j.canary.startedAt };
}

/**
 * Pure: what the deploy does with what it found in the request file during the step `step`: take
 * it, or drop it as stale (meant for another operation or step, or unreadable) with the reason.
 */
export function matchRequest(
  raw: unknown,
  step: { operation: string; percent: number },
): { take: CanaryRequest } | { stale: string; request?: CanaryRequest } {
  const r = canaryRequestSchema.safeParse(raw);
  if (!r.success) return { stale: 'not a canary request (unreadable, or not the expected shape)' };
  const q = r.data;
  if (q.operation !== step.operation)
    return { stale: `meant for operation ${q.operation}, and ${step.operation} is running`, request: q };
  if (q.percent !== step.percent)
    return { stale: `meant for the ${q.percent}% step, and the deploy is at ${step.percent}%`, request: q };
  return { take: q };
}

const isCode = (e: unknown, code: string) => (e as NodeJS.ErrnoException)?.code === code;

/**
 * Leaves a request, unless one is there already: written whole with writeJsonAtomic beside the
 * request file, then linked to its name (link never replaces a file, so two requests cannot
 * overwrite each other). Returns what is in the way (parsed as far as it goes), or undefined.
 */
export async function publishRequest(
  paths: ProjectPaths,
  q: CanaryRequest,
): Promise<{ existing: unknown } | undefined> {
  const staged = `${paths.canaryRequest}.${q.id}.new`;
  await writeJsonAtomic(staged, q);
  try {
    await fs.link(staged, paths.canaryRequest);
    return undefined;
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e;
    return { existing: await readJson<unknown>(paths.canaryRequest).catch(() => null) };
  } finally {
    await fs.rm(staged, { force: true });
  }
}

/**
 * The deploy's side: takes the request file if there is one (a rename, so it is taken once, and
 * a requester withdrawing at the same moment finds it gone). Returns its content (null when it
 * is not JSON), or undefined when there is none.
 */
export async function takeRequest(paths: ProjectPaths): Promise<{ raw: unknown } | undefined> {
  const taken = `${paths.canaryRequest}.taken`;
  try {
    await fs.rename(paths.canaryRequest, taken);
  } catch (e) {
    if (isCode(e, 'ENOENT')) return undefined;
    throw e;
  }
  try {
    return { raw: await readJson<unknown>(taken).catch(() => null) };
  } finally {
    await fs.rm(taken, { force: true });
  }
}

/** Whether the request `id` still waits to be taken. */
export async function requestWaiting(paths: ProjectPaths, id: string): Promise<boolean> {
  const raw = await readJson<{ id?: unknown }>(paths.canaryRequest).catch(() => undefined);
  return raw?.id === id;
}

/** The requester's side: removes its request if the deploy has not taken it. True when it was still there. */
export async function withdrawRequest(paths: ProjectPaths, id: string): Promise<boolean> {
  if (!(await requestWaiting(paths, id))) return false;
  try {
    await fs.unlink(paths.canaryRequest);
    return true;
  } catch (e) {
    if (isCode(e, 'ENOENT')) return false;
    throw e;
  }
}

/** Removes a request that is in the way and stale (the deploy would drop it too). */
export async function removeRequest(paths: ProjectPaths): Promise<void> {
  await fs.rm(paths.canaryRequest, { force: true });
}

export async function writeAck(paths: ProjectPaths, a: CanaryAck): Promise<void> {
  await writeJsonAtomic(paths.canaryAck, a);
}

/** The answer to request `id`, once it is there (an answer to another request is not ours). */
export async function readAck(paths: ProjectPaths, id: string): Promise<CanaryAck | undefined> {
  const raw = await readJson<unknown>(paths.canaryAck).catch(() => undefined);
  const a = canaryAckSchema.safeParse(raw);
  return a.success && a.data.id === id ? a.data : undefined;
}

/** Removes the answer to `id` once read (an answer to a newer request stays for its requester). */
export async function removeAck(paths: ProjectPaths, id: string): Promise<void> {
  if (await readAck(paths, id)) await fs.rm(paths.canaryAck, { force: true });
}
