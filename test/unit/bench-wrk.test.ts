import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
// @ts-expect-error: a plain .mjs benchmark helper without type declarations
import { parseWrk, wrkDurationMs } from '../../bench/lib/wrk.mjs';

const OUTPUT = `Running 10s test @ http://127.0.0.1:4000/api/health
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.47ms  812.00us  41.02ms   91.10%
    Req/Sec    12.16k     1.20k   14.02k    70.00%
  Latency Distribution
     50%    1.75ms
     75%    2.90ms
     90%    4.26ms
     99%   14.78ms
  241954 requests in 10.00s, 70.16MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:  24193.12
Transfer/sec:      7.02MB
`;

describe('the benchmarks read wrk output (bench/lib/wrk.mjs)', () => {
  it('turns wrk durations into milliseconds', () => {
    assert.equal(wrkDurationMs('812.00us'), 0.812);
    assert.equal(wrkDurationMs('1.75ms'), 1.75);
    assert.equal(wrkDurationMs('1.02s'), 1020);
    assert.throws(() => wrkDurationMs('fast'), /cannot read the duration "fast"/);
  });

  it('reads throughput, the sub-millisecond percentiles and every kind of error', () => {
    assert.deepEqual(parseWrk(OUTPUT), {
      reqPerSec: 24193,
      p50ms: 1.75,
      p90ms: 4.26,
      p99ms: 14.78,
      meanMs: 2.47,
      total: 241954,
      errors: 9,
    });
  });

  it('refuses output without a latency distribution (wrk run without --latency)', () => {
    assert.throws(() => parseWrk(OUTPUT.replace(/ {5}99%.*\n/, '')), /no 99% line/);
  });
});
