/** Merging the workers' answers (proxy.workers > 1) into the one answer the daemon gives. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SwitchyardError } from '../../src/errors.ts';
import { fromWire, mergeDrain, mergeStats, mergeStatus, toWire } from '../../src/proxy/builtin/replica-protocol.ts';
import { checkSnapshot } from '../../src/proxy/builtin/snapshot.ts';
import { bucketIndex, emptyStats, record } from '../../src/proxy/stats.ts';
import { NO_FEATURES } from '../../src/proxy/features.ts';
import type { ProxyStatus } from '../../src/proxy/types.ts';

function status(pid: number, inFlight: [number, number], ws: [number, number]): ProxyStatus {
  return {
    pid,
    active: 'blue',
    listen: { host: '127.0.0.1', port: 8080 },
    routes: [{ path: '/', service: 'web' }],
    backends: { blue: { web: [{ host: '127.0.0.1', port: 9000 }] } },
    inFlight: { blue: inFlight[0], green: inFlight[1] },
    websockets: { blue: ws[0], green: ws[1] },
    canary: null,
    maintenance: null,
    watching: false,
    features: NO_FEATURES,
  };
}

test('status: open requests and WebSockets add up, the pid is the daemon, the workers are listed', () => {
  const s = mergeStatus([status(11, [2, 1], [0, 3]), status(12, [5, 0], [1, 1])], 10, [11, 12]);
  assert.deepEqual(s.inFlight, { blue: 7, green: 1 });
  assert.deepEqual(s.websockets, { blue: 1, green: 4 });
  assert.equal(s.pid, 10);
  assert.deepEqual(s.workers, [11, 12]);
  assert.equal(s.active, 'blue');
  assert.throws(() => mergeStatus([], 10, []), /no worker answered/);
});

test('drain: counts add up, the longest wait wins, one timeout is a timeout', () => {
  const d = mergeDrain([
    { inFlight: 0, websocketsClosed: 1, timedOut: false, ms: 120, openAtStart: { requests: 2, websockets: 1 } },
    { inFlight: 1, websocketsClosed: 0, timedOut: true, ms: 2000, openAtStart: { requests: 3, websockets: 0 } },
  ]);
  assert.deepEqual(d, {
    inFlight: 1,
    websocketsClosed: 1,
    timedOut: true,
    ms: 2000,
    openAtStart: { requests: 5, websockets: 1, streams: 0 },
  });
  assert.equal(mergeDrain([{ inFlight: 0, websocketsClosed: 0, timedOut: false, ms: 3 }]).timedOut, false);
});

test('stats: requests, errors, failures and every latency bucket add up', () => {
  const a = emptyStats(true);
  const b = emptyStats(true);
  record(a.colours.blue, 200, 1);
  record(a.colours.blue, 500, 30);
  record(b.colours.blue, 502, 2, true);
  record(b.colours.green, 200, 1);
  const m = mergeStats([a, b]);
  assert.equal(m.enabled, true);
  assert.deepEqual(
    { r: m.colours.blue.requests, e: m.colours.blue.errors, f: m.colours.blue.failures },
    { r: 3, e: 2, f: 1 },
  );
  assert.equal(m.colours.green.requests, 1);
  assert.equal(m.colours.blue.latency[bucketIndex(1)], 1);
  assert.equal(m.colours.blue.latency[bucketIndex(2)], 1);
  assert.equal(m.colours.blue.latency[bucketIndex(30)], 1);
  assert.equal(
    m.colours.blue.latency.reduce((x, y) => x + y, 0),
    3,
  );
  assert.equal(mergeStats([]).enabled, false);
});

test('errors cross the IPC channel with their code and hint; anything else stays an internal error', () => {
  const e = fromWire(
    toWire(new SwitchyardError('PORT_IN_USE', 'the proxy cannot listen on 127.0.0.1:80', { hint: 'stop it' })),
  );
  assert.ok(e instanceof SwitchyardError);
  assert.equal(e.code, 'PORT_IN_USE');
  assert.equal(e.hint, 'stop it');
  const plain = fromWire(toWire(new TypeError('boom')));
  assert.ok(!(plain instanceof SwitchyardError));
  assert.equal(plain.message, 'boom');
});

test('the saved snapshot keeps proxy.workers and refuses nonsense', () => {
  const base = {
    listen: { host: '127.0.0.1', port: 8080 },
    routes: [{ path: '/', service: 'web' }],
    backends: {},
    active: null,
  };
  assert.equal(checkSnapshot({ ...base, workers: 4 }).workers, 4);
  assert.equal(checkSnapshot(base).workers, undefined);
  for (const bad of [0, -1, 1.5, '2', 65])
    assert.throws(() => checkSnapshot({ ...base, workers: bad }), /invalid proxy workers/, String(bad));
});
