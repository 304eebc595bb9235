/** The supervisor's restart rules (src/runtime/process/restart-policy.ts): when, how soon, when a crash loop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  afterExit,
  afterRestart,
  CRASH_LOOP,
  describeExit,
  newTracker,
  RESTART_CAP_MS,
  restartPolicyOf,
  settle,
  STABLE_MS,
  wantsRestart,
  type ExitInfo,
} from '../../src/runtime/process/restart-policy.ts';

const exit = (at: number, code: number | null = 1, signal: string | null = null, known = true): ExitInfo => ({
  at,
  code,
  signal,
  known,
});

test('backoff: the first restart at once, then 0.5 s doubling up to the cap', () => {
  let t = newTracker(0);
  let now = 1_000;
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const r = afterExit(t, exit(now));
    delays.push(r.restartAt - now);
    now = r.restartAt;
    t = afterRestart(r.tracker, now);
    now += 100; // crashes 100 ms after each start
  }
  assert.deepEqual(delays, [0, 500, 1_000, 2_000, 4_000, 8_000, RESTART_CAP_MS, RESTART_CAP_MS]);
  assert.equal(t.restarts, 8);
});

test('a crash loop: five exits within a minute mark the service degraded; it is still restarted', () => {
  let t = newTracker(0);
  let now = 0;
  const degraded: boolean[] = [];
  for (let i = 0; i < CRASH_LOOP.exits; i++) {
    const r = afterExit(t, exit(now));
    degraded.push(r.tracker.degraded);
    t = afterRestart(r.tracker, r.restartAt);
    now = r.restartAt + 1_000;
  }
  assert.deepEqual(degraded, [false, false, false, false, true]);
  assert.ok(now < CRASH_LOOP.withinMs);
});

test('exits spread wider than the window are no crash loop', () => {
  let t = newTracker(0);
  for (let i = 0; i < 10; i++) {
    const at = i * (CRASH_LOOP.withinMs / 4 + 1);
    const r = afterExit(t, exit(at));
    assert.equal(r.tracker.degraded, false, `exit ${i}`);
    t = afterRestart(r.tracker, r.restartAt);
  }
});

test('up for the stable period: healthy again, the next crash restarts at once and the loop is over', () => {
  let t = newTracker(0);
  for (let i = 0; i < 6; i++) t = afterRestart(afterExit(t, exit(i * 100)).tracker, i * 100 + 50);
  assert.equal(t.degraded, true);
  const before = settle(t, t.upSince + STABLE_MS - 1);
  assert.equal(before.degraded, true, 'not yet');
  const after = settle(t, t.upSince + STABLE_MS);
  assert.deepEqual([after.degraded, after.failures], [false, 0]);
  const next = afterExit(after, exit(t.upSince + STABLE_MS + 10));
  assert.equal(next.restartAt - (t.upSince + STABLE_MS + 10), 0);
});

test('policies: always restarts anything; on-failure skips a clean exit; never restarts nothing', () => {
  const clean = exit(0, 0);
  const failed = exit(0, 2);
  const killed = exit(0, null, 'SIGKILL');
  const unknown = exit(0, null, null, false);
  assert.deepEqual(
    [clean, failed, killed, unknown].map((e) => wantsRestart('always', e)),
    [true, true, true, true],
  );
  assert.deepEqual(
    [clean, failed, killed, unknown].map((e) => wantsRestart('on-failure', e)),
    [false, true, true, true],
  );
  assert.deepEqual(
    [clean, failed, killed, unknown].map((e) => wantsRestart('never', e)),
    [false, false, false, false],
  );
  assert.deepEqual(['always', 'unless-stopped', 'on-failure', 'no', 'never'].map(restartPolicyOf), [
    'always',
    'always',
    'on-failure',
    'never',
    'never',
  ]);
});

test('exits are worded by what is known', () => {
  assert.equal(describeExit(exit(0, 3)), 'exited with code 3');
  assert.equal(describeExit(exit(0, null, 'SIGKILL')), 'was killed by SIGKILL');
  assert.match(describeExit(exit(0, null, null, false)), /exit status is unknown/);
});
