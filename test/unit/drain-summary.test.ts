import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeDrain } from '../../src/proxy/builtin/replica-protocol.ts';
import { drainSummary } from '../../src/run/traffic.ts';

test('the drain line names streams apart from requests', () => {
  const line = drainSummary({
    inFlight: 0,
    websocketsClosed: 1,
    timedOut: false,
    ms: 2104,
    openAtStart: { requests: 2, websockets: 1, streams: 1 },
    streams: { afterMs: 2000, sse: 1, websockets: 1, long: 0 },
  });
  assert.equal(
    line,
    'drained in 2104 ms (open at the start: 2 request(s), 1 of them SSE, 1 WebSocket(s)); ' +
      '2 streams ended after 2.0 s (1 SSE, 1 WebSocket)',
  );
  assert.match(
    drainSummary({
      inFlight: 1,
      websocketsClosed: 0,
      timedOut: false,
      ms: 1000,
      streams: { afterMs: 1000, sse: 0, websockets: 0, long: 1 },
    }),
    /1 connection still open after 1\.0 s left to the stop/,
  );
  // nginx: the streams were not ended by the proxy but left to the colour's stop (its SIGTERM).
  assert.equal(
    drainSummary({
      inFlight: 0,
      websocketsClosed: 0,
      timedOut: false,
      ms: 1016,
      streams: { afterMs: 1016, sse: 1, websockets: 1, long: 0, leftToStop: true },
    }),
    "drained in 1016 ms; 2 streams left to the colour's stop after 1.0 s (1 SSE, 1 WebSocket)",
  );
  assert.equal(
    drainSummary({
      inFlight: 1,
      websocketsClosed: 0,
      timedOut: true,
      ms: 30001,
      openAtStart: { requests: 1, websockets: 0 },
    }),
    'drained in 30001 ms (open at the start: 1 request(s), 0 WebSocket(s)); ' +
      '1 request(s) still open at the drain timeout',
  );
});

test('workers: stream counts add up, the grace ended when the last worker ended it', () => {
  const d = mergeDrain([
    {
      inFlight: 0,
      websocketsClosed: 0,
      timedOut: false,
      ms: 900,
      streams: { afterMs: 500, sse: 2, websockets: 0, long: 0 },
    },
    {
      inFlight: 0,
      websocketsClosed: 1,
      timedOut: false,
      ms: 700,
      streams: { afterMs: 520, sse: 1, websockets: 1, long: 1 },
    },
    { inFlight: 0, websocketsClosed: 0, timedOut: false, ms: 10 },
  ]);
  assert.deepEqual(d.streams, { afterMs: 520, sse: 3, websockets: 1, long: 1 });
  assert.equal(d.ms, 900);
});
