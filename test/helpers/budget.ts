/**
 * Per-test timeouts sized from what each test measured, never one budget shared by a whole file or
 * suite (where one slow part cancels an unrelated one, as the soak's nginx half was once).
 *
 * `measuredMs` is the test's (or hook's) duration in a full `npm test` on a 2-core machine, two
 * files at a time (the README's command). The timeout is four times that, rounded up to 5 s, and
 * never under 30 s: a first run on a fresh machine (cold page cache, images just built, the other
 * file busy) has been seen to take twice the usual time, and a timeout is for a test that hangs,
 * not for one that is slow. Re-measure (the TAP output's duration_ms) when a test changes shape.
 */
export const MIN_TIMEOUT_MS = 30_000;
export const MARGIN = 4;

export function budget(measuredMs: number): { timeout: number } {
  return { timeout: Math.max(MIN_TIMEOUT_MS, Math.ceil((measuredMs * MARGIN) / 5_000) * 5_000) };
}
