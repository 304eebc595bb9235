import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrafficSeries, SERIES_SECONDS } from '../../src/dashboard/traffic.ts';
import { emptyStats, record, type TrafficStats } from '../../src/proxy/stats.ts';

/** Cumulative counters: `blue`/`green` requests so far, each taking `ms`; every `errEvery`-th of green's an error. */
function stats(blue: number, green: number, ms = 3, errEvery = 0): TrafficStats {
  const s = emptyStats(false);
  for (let i = 1; i <= blue; i++) record(s.colours.blue, 200, ms);
  for (let i = 1; i <= green; i++) record(s.colours.green, errEvery && i % errEvery === 0 ? 500 : 200, ms);
  return s;
}
const inFlight = { blue: 2, green: 0 };

test('per-second points are differences of the cumulative counters: rate, error rate, p50/p99, in flight', () => {
  const s = new TrafficSeries();
  const first = s.add(0, stats(100, 0), inFlight);
  assert.equal(first.colours.blue.rps, undefined, 'the first sample only starts the next difference');
  assert.equal(first.colours.blue.inFlight, 2);
  const p = s.add(2_000, stats(300, 50, 3, 10), inFlight);
  assert.equal(p.colours.blue.rps, 100);
  assert.equal(p.colours.green.rps, 25);
  assert.equal(p.colours.green.errorRate, 5 / 50);
  assert.ok(p.colours.blue.p50Ms! >= 3 && p.colours.blue.p99Ms! >= 3);
  assert.equal(s.points.length, 2);
});

test('a proxy restart (counters back at zero) starts the differences again, never a negative rate', () => {
  const s = new TrafficSeries();
  s.add(0, stats(500, 0), null);
  s.add(1_000, stats(600, 0), null);
  const after = s.add(2_000, stats(20, 0), null);
  assert.equal(after.colours.blue.rps, undefined);
  const next = s.add(3_000, stats(70, 0), null);
  assert.equal(next.colours.blue.rps, 50);
});

test('without counters (nginx, the proxy down) a point has requests in flight only', () => {
  const s = new TrafficSeries();
  s.add(0, null, inFlight);
  const p = s.add(1_000, null, inFlight);
  assert.deepEqual(p.colours.blue, { inFlight: 2 });
});

test('keeps the last SERIES_SECONDS of points', () => {
  const s = new TrafficSeries();
  for (let t = 0; t <= (SERIES_SECONDS + 60) * 1000; t += 1000) s.add(t, stats(t / 10, 0), null);
  assert.ok(s.points.length <= SERIES_SECONDS + 1);
  assert.equal(s.points[0]!.t, 60_000);
});

test("the live watch: a judged step's window from its start, against the old colour over the same window", () => {
  const s = new TrafficSeries();
  const thresholds = { errorRate: 0.02, minRequests: 20, latencyFloor: 25 };
  const op = (kind: string, status = 'started') => ({
    from: 'blue' as const,
    to: 'green' as const,
    startedAt: new Date(0).toISOString(),
    steps: [{ kind, title: 'Shifting 30% of clients to green', status, startedAt: new Date(2_000).toISOString() }],
  });
  s.add(0, stats(100, 0), null);
  s.add(1_000, stats(200, 0), null);
  s.add(2_000, stats(300, 0), null);
  // From the step's start: green 40 requests with every 4th failing, blue 60 clean.
  s.add(3_000, stats(360, 40, 3, 4), null);
  const w = s.watch(op('shift'), thresholds)!;
  assert.equal(w.step, 'Shifting 30% of clients to green');
  assert.deepEqual([w.target, w.from], ['green', 'blue']);
  assert.equal(w.verdict.target.requests, 40);
  assert.equal(w.verdict.baseline?.requests, 60);
  assert.equal(w.verdict.state, 'fail');
  assert.match(w.verdict.reasons.join(), /error rate 25.0%/);
  assert.equal(s.watch(op('smoke'), thresholds), null, 'not a judged step');
  assert.equal(s.watch(op('shift', 'done'), thresholds), null, 'no step running');
  assert.equal(s.watch(op('shift'), undefined), null, 'no deploy.rollbackOn');
  assert.equal(s.watch(null, thresholds), null);
});
