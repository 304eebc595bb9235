/**
 * When the supervisor starts an exited service again, and how soon (pure: times come in).
 * Backoff like PM2's exponential restart delay: the first restart at once, then 0.5 s, 1 s, 2 s, ...
 * up to RESTART_CAP_MS; a process that stayed up for STABLE_MS counts as healthy again and the
 * next crash restarts at once. CRASH_LOOP exits within its window mark the service degraded
 * (`status` exits 4) while it keeps being retried at the capped interval.
 */
export type RestartPolicy = 'always' | 'on-failure' | 'never';

export const RESTART_CAP_MS = 10_000;
export const FIRST_BACKOFF_MS = 500;
export const STABLE_MS = 30_000;
export const CRASH_LOOP = { exits: 5, withinMs: 60_000 };

/** The config's words (Docker's included) as the process runtime's policy. */
export function restartPolicyOf(name: string): RestartPolicy {
  if (name === 'no' || name === 'never') return 'never';
  return name === 'on-failure' ? 'on-failure' : 'always';
}

/** How a process ended; `code` and `signal` are unknown for a process the supervisor did not start. */
export interface ExitInfo {
  at: number;
  code: number | null;
  signal: string | null;
  known: boolean;
}

export interface Tracker {
  /** Restarts so far (of this colour's run of the service). */
  restarts: number;
  /** Exits since the process last stayed up for STABLE_MS. */
  failures: number;
  /** Exit times inside the crash-loop window. */
  exits: number[];
  lastExit?: ExitInfo;
  /** When the current process started (ms). */
  upSince: number;
  degraded: boolean;
}

export const newTracker = (now: number): Tracker => ({
  restarts: 0,
  failures: 0,
  exits: [],
  upSince: now,
  degraded: false,
});

export function describeExit(e: ExitInfo): string {
  if (!e.known) return 'exited (its exit status is unknown: it was not started by this supervisor)';
  return e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

export function wantsRestart(policy: RestartPolicy, e: ExitInfo): boolean {
  if (policy === 'never') return false;
  if (policy === 'always') return true;
  return !e.known || e.signal !== null || e.code !== 0;
}

/** The tracker after an exit at `e.at`, and when to start the process again. */
export function afterExit(t: Tracker, e: ExitInfo): { tracker: Tracker; restartAt: number } {
  const stable = e.at - t.upSince >= STABLE_MS;
  const failures = stable ? 1 : t.failures + 1;
  const exits = [...t.exits.filter((x) => e.at - x < CRASH_LOOP.withinMs), e.at];
  const delay = failures <= 1 ? 0 : Math.min(RESTART_CAP_MS, FIRST_BACKOFF_MS * 2 ** (failures - 2));
  const degraded = exits.length >= CRASH_LOOP.exits;
  return { tracker: { ...t, failures, exits, lastExit: e, degraded }, restartAt: e.at + delay };
}

/** After a restart at `now`; a degraded service stays so until it stays up for STABLE_MS. */
export function afterRestart(t: Tracker, now: number): Tracker {
  return { ...t, restarts: t.restarts + 1, upSince: now };
}

/** Up for STABLE_MS: healthy again (not degraded, the next crash restarts at once). */
export function settle(t: Tracker, now: number): Tracker {
  if (now - t.upSince < STABLE_MS || (!t.degraded && t.failures === 0)) return t;
  return { ...t, degraded: false, failures: 0 };
}
