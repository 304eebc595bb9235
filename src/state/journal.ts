/**
 * The deploy journal (.switchyard/journal.json): what a running init/deploy/rollback/switch is
 * doing, written atomically at every step boundary. It exists only while the operation runs (or
 * after a failure that could not be undone), so a journal whose owner process is gone means the
 * operation was interrupted (SIGKILL, reboot), and says how far it got: `switchyard recover`
 * converges from there (src/run/recover.ts).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import * as z from 'zod';
import { COLOURS } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { liveness, readStartTicks } from '../util/procinfo.js';
import { readJson, writeJsonAtomic } from './atomic.js';
import type { ProjectPaths } from './paths.js';

export const JOURNALED = ['init', 'deploy', 'rollback', 'switch'] as const;
export type JournaledType = (typeof JOURNALED)[number];

const colour = z.enum(COLOURS);
const stepSchema = z.object({
  index: z.number(),
  title: z.string(),
  /** The plan's action kind (src/plan/actions.ts); absent in journals written before plans. */
  kind: z.string().optional(),
  status: z.enum(['started', 'done', 'failed', 'skipped']),
  startedAt: z.string(),
  endedAt: z.string().optional(),
});
const ownerSchema = z.object({
  pid: z.number(),
  host: z.string(),
  /** Kernel start time of the owner (see procinfo.ts): a reused pid is not taken for the owner. */
  startTicks: z.string().optional(),
});
export const journalSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  type: z.enum(JOURNALED),
  owner: ownerSchema,
  startedAt: z.string(),
  updatedAt: z.string(),
  from: colour.nullable(),
  to: colour.nullable(),
  release: z.string().nullable(),
  /** Path of the database backup the operation took. */
  backup: z.string().nullable(),
  flags: z.array(z.string()),
  /** The operation starts `to` itself (deploy, init, rollback to a stopped colour): undoing stops it. */
  startsTarget: z.boolean(),
  /** Written (and fsynced) right before traffic moves: false means the proxy was never switched by it. */
  committed: z.boolean(),
  steps: z.array(stepSchema),
  /**
   * Present while a deploy waits in a canary step below 100% (after the split is set, until the
   * step ends): the step `switchyard canary promote|abort` may act on. Absent in older journals.
   */
  canary: z.object({ percent: z.number(), startedAt: z.string() }).optional(),
  /** Set when the operation ended with an error after traffic may have moved (nothing was undone). */
  failed: z.string().optional(),
});
export type JournalData = z.infer<typeof journalSchema>;
export type JournalStep = z.infer<typeof stepSchema>;
export type JournalOwner = z.infer<typeof ownerSchema>;

/** The operation's current facts, read at each write (the Operation changes them as it learns). */
export type JournalFacts = Pick<JournalData, 'from' | 'to' | 'release' | 'backup' | 'startsTarget' | 'committed'>;

export async function readJournal(paths: ProjectPaths): Promise<JournalData | undefined> {
  let raw: unknown;
  try {
    raw = await readJson(paths.journal);
  } catch (e) {
    throw new SwitchyardError('STATE_INVALID', `${paths.journal} is not valid JSON`, {
      cause: e,
      hint: 'it is written atomically, so someone edited it: check `switchyard status`, then delete it',
    });
  }
  if (raw === undefined) return undefined;
  const parsed = journalSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SwitchyardError('STATE_INVALID', `${paths.journal} does not have the expected shape`, {
      details: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
      hint: 'check `switchyard status`, then delete it',
    });
  }
  return parsed.data;
}

/** Whether the journal's owner still runs. On another host we cannot tell, so it counts as alive (never touched). */
export async function ownerAlive(owner: JournalOwner): Promise<boolean> {
  if (owner.host !== os.hostname()) return true;
  return (await liveness(owner.pid, owner.startTicks)) === 'running';
}

/** A journal left by a process that is gone: the operation it describes was interrupted. */
export async function readInterrupted(paths: ProjectPaths): Promise<JournalData | undefined> {
  const j = await readJournal(paths);
  return j && !(await ownerAlive(j.owner)) ? j : undefined;
}

export async function removeJournal(paths: ProjectPaths): Promise<void> {
  await fs.rm(paths.journal, { force: true });
}

/**
 * The running operation's journal. Writes are serialised through one promise chain, each writing
 * the whole (small) journal: a write that must precede an action (a step start, the commit) is
 * awaited; step ends are queued, and the next awaited write carries them anyway.
 */
export class Journal {
  private chain: Promise<void> = Promise.resolve();
  private readonly steps: JournalStep[] = [];
  private failed: string | undefined;
  private canary: JournalData['canary'];

  private constructor(
    private readonly paths: ProjectPaths,
    private readonly base: Pick<JournalData, 'id' | 'type' | 'owner' | 'startedAt' | 'flags'>,
    private readonly facts: () => JournalFacts,
  ) {}

  static async create(
    paths: ProjectPaths,
    op: { id: string; type: JournaledType; flags: string[] },
    facts: () => JournalFacts,
  ): Promise<Journal> {
    const owner: JournalOwner = { pid: process.pid, host: os.hostname() };
    const ticks = await readStartTicks(process.pid);
    if (ticks) owner.startTicks = ticks;
    const j = new Journal(
      paths,
      { id: op.id, type: op.type, owner, startedAt: new Date().toISOString(), flags: op.flags },
      facts,
    );
    await j.write();
    return j;
  }

  snapshot(): JournalData {
    return {
      version: 1,
      ...this.base,
      updatedAt: new Date().toISOString(),
      ...this.facts(),
      steps: this.steps.map((s) => ({ ...s })),
      ...(this.canary ? { canary: { ...this.canary } } : {}),
      ...(this.failed ? { failed: this.failed } : {}),
    };
  }

  /** Queues a write of the current journal; resolves when it (and every earlier one) is on disk. */
  write(): Promise<void> {
    const next = this.chain.then(() => writeJsonAtomic(this.paths.journal, this.snapshot()));
    // A failed write must not poison the chain: the caller that awaits it sees the error.
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Recorded before the step runs: a step that is not in the journal never started. */
  stepStarted(index: number, title: string, kind?: string): Promise<void> {
    this.steps.push({
      index,
      title,
      ...(kind ? { kind } : {}),
      status: 'started',
      startedAt: new Date().toISOString(),
    });
    return this.write();
  }

  stepEnded(index: number, status: 'done' | 'failed'): Promise<void> {
    const s = [...this.steps].reverse().find((x) => x.index === index);
    if (s) Object.assign(s, { status, endedAt: new Date().toISOString() });
    return this.write().catch(() => undefined);
  }

  stepSkipped(index: number, title: string, kind?: string): void {
    const now = new Date().toISOString();
    this.steps.push({ index, title, ...(kind ? { kind } : {}), status: 'skipped', startedAt: now, endedAt: now });
    void this.write().catch(() => undefined);
  }

  /** A canary step starts waiting (its split is set), or stops (undefined): on disk when it resolves. */
  canaryWait(c: JournalData['canary']): Promise<void> {
    this.canary = c;
    return this.write();
  }

  /** The operation failed after it may have moved traffic: kept for `switchyard recover`. */
  async keepFailed(reason: string): Promise<void> {
    this.failed = reason;
    await this.write().catch(() => undefined);
  }

  async remove(): Promise<void> {
    await this.chain;
    await removeJournal(this.paths);
  }
}
