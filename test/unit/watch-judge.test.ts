/**
 * The live watch's pure parts: stats arithmetic, the verdict under deploy.rollbackOn, and the
 * config/CLI parsing of canary steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bucketIndex,
  diffStats,
  emptyColourStats,
  emptyStats,
  LATENCY_BOUNDS_MS,
  quantileMs,
  record,
  type ColourStats,
} from '../../src/proxy/stats.ts';
import { judge } from '../../src/watch/judge.ts';
import { parseCanarySteps, rollbackOnSchema } from '../../src/config/canary-schema.ts';
import { configSchema } from '../../src/config/schema.ts';

function stats(n: number, errorsEvery: number, ms: number | ((i: number) => number)): ColourStats {
  const s = emptyColourStats();
  for (let i = 1; i <= n; i++)
    record(s, errorsEvery > 0 && i % errorsEvery === 0 ? 500 : 200, typeof ms === 'number' ? ms : ms(i));
  return s;
}
const on = (x: unknown) => rollbackOnSchema.parse(x);

test('buckets: monotone, every duration lands in the first bound at or above it', () => {
  for (const ms of [0, 0.4, 0.5, 0.51, 1, 3.3, 17, 250, 999, 59_000, 61_000, 1e9]) {
    const i = bucketIndex(ms);
    if (i < LATENCY_BOUNDS_MS.length) assert.ok(ms <= LATENCY_BOUNDS_MS[i]!, `${ms} -> ${LATENCY_BOUNDS_MS[i]}`);
    if (i > 0) assert.ok(ms > LATENCY_BOUNDS_MS[i - 1]!, `${ms} above ${LATENCY_BOUNDS_MS[i - 1]}`);
  }
  assert.equal(bucketIndex(1e9), LATENCY_BOUNDS_MS.length);
});

test('quantiles and diffs', () => {
  const s = stats(1000, 0, (i) => (i <= 990 ? 2 : 800));
  assert.ok(quantileMs(s, 0.5)! >= 2 && quantileMs(s, 0.5)! < 2.5);
  assert.ok(quantileMs(s, 0.99)! < 2.5, 'the 990th request is still fast');
  assert.ok(quantileMs(s, 0.995)! >= 800);
  assert.equal(quantileMs(emptyColourStats(), 0.99), undefined);
  const a = emptyStats(true);
  const b = emptyStats(true);
  b.colours.green = stats(50, 5, 3);
  const d = diffStats(b, a);
  assert.deepEqual([d.colours.green.requests, d.colours.green.errors, d.colours.blue.requests], [50, 10, 0]);
  assert.equal(
    d.colours.green.latency.reduce((x, y) => x + y, 0),
    50,
  );
});

test('no verdict before minRequests, whatever the errors', () => {
  const v = judge(stats(99, 1, 1), stats(1000, 0, 1), on({ errorRate: '2%', minRequests: 100 }));
  assert.equal(v.state, 'waiting');
});

test('20% errors against a clean old colour fails; a clean new colour passes', () => {
  const t = on({ errorRate: '2%', p99: '2x' });
  const bad = judge(stats(500, 5, 1), stats(500, 0, 1), t);
  assert.equal(bad.state, 'fail');
  assert.match(bad.reasons[0]!, /error rate 20\.0% is more than 2\.00% above the old colour's 0\.00%/);
  assert.equal(bad.target.errorRate, 0.2);
  assert.equal(judge(stats(500, 0, 1), stats(500, 0, 1), t).state, 'ok');
});

test('the error rate is judged against the old colour when it has enough requests, else against zero', () => {
  const t = on({ errorRate: '2%' });
  // Old colour already fails 10%: 11% on the new one is not 2 points worse.
  assert.equal(judge(stats(1000, 9, 1), stats(1000, 10, 1), t).state, 'ok');
  // Too few old requests to compare: 5% errors is judged against zero.
  const v = judge(stats(1000, 20, 1), stats(10, 0, 1), t);
  assert.equal(v.state, 'fail');
  assert.equal(v.baseline, null);
});

test('p99: relative needs a baseline and a real difference (latencyFloor); absolute always applies', () => {
  const rel = on({ p99: '2x' });
  // 1 ms -> 3 ms is 3x but only 2 ms slower: noise under the 25 ms floor.
  assert.equal(judge(stats(500, 0, 3), stats(500, 0, 1), rel).state, 'ok');
  assert.equal(judge(stats(500, 0, 120), stats(500, 0, 20), rel).state, 'fail');
  assert.equal(judge(stats(500, 0, 120), null, rel).state, 'ok', 'no baseline: a relative limit cannot judge');
  assert.equal(judge(stats(500, 0, 120), null, on({ p99: '100ms' })).state, 'fail');
  assert.equal(judge(stats(500, 0, 80), null, on({ p99: '100ms' })).state, 'ok');
});

test('rollbackOn and canary parsing', () => {
  assert.deepEqual(on({ errorRate: '2.5%', p99: '1.5x' }), {
    errorRate: 0.025,
    p99: { factor: 1.5 },
    minRequests: 100,
    latencyFloor: 25,
  });
  assert.deepEqual(on({ errorRate: 5, p99: '2s', minRequests: 20 }).p99, { ms: 2000 });
  for (const bad of [
    {},
    { errorRate: '200%' },
    { errorRate: '2' + '%%' },
    { p99: '0.5x' },
    { p99: 'fast' },
    { errorRate: '2%', minRequests: 0 },
  ]) {
    assert.equal(rollbackOnSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.deepEqual(parseCanarySteps('10,50,100').steps, [10, 50, 100]);
  assert.deepEqual(parseCanarySteps('100').steps, [100]);
  for (const bad of ['50,10,100', '10,50', '0,100', '10,,100', '10;100', '', '10,100,100', '1e1,100'])
    assert.ok(parseCanarySteps(bad).error, bad);
  const cfg = configSchema.safeParse({
    app: 'a',
    proxy: { listen: { http: 8080, preview: 8080 }, routes: [{ path: '/', service: 'web' }] },
    services: { web: { command: 'node s.js', health: { path: '/' } } },
  });
  assert.equal(cfg.success, false, 'preview port equal to the http port is refused');
});

test(
  'moving clients back after a failed verdict survives a proxy that died at that moment: ' + 'restart, then once more',
  async () => {
    const { moveBack } = await import('../../src/run/shift.ts');
    const calls: string[] = [];
    let alive = false;
    const back = async () => {
      calls.push(alive ? 'back' : 'back (proxy dead)');
      if (!alive) throw new Error('cannot reach the proxy');
    };
    const reviver = { revive: async () => ((alive = true), 'restarted'), onRevived: (w: string) => calls.push(w) };
    const ms = await moveBack(back, reviver, performance.now());
    assert.deepEqual(calls, ['back (proxy dead)', 'restarted', 'back']);
    assert.ok(ms >= 0);
    // Still failing after the restart: the second error is the one reported, nothing is retried forever.
    const never = async () => {
      throw new Error('still unreachable');
    };
    await assert.rejects(
      moveBack(never, { revive: async () => 'restarted', onRevived: () => {} }, performance.now()),
      /still unreachable/,
    );
  },
);
