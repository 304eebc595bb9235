/**
 * The parts of the built-in proxy's metrics that need no process (src/proxy/builtin/metrics.ts):
 * the status classes, what counts as a switch, the split share, the sum of several processes' parts,
 * and the note when the config moves the metrics listener of a running proxy. The page is read
 * back with a Prometheus text-format parser. (The daemon end to end: builtin-metrics.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { Histogram, Registry } from 'prom-client';
import { getMetricsFromStream, type PromData, type PromHistogramData } from 'prom2javascript';
import {
  DURATION_BUCKETS_S,
  exposition,
  StateMetrics,
  TrafficMetrics,
  type MetricsJson,
} from '../../src/proxy/builtin/metrics.ts';
import type { ProxySnapshot } from '../../src/proxy/builtin/snapshot.ts';
import { metricsNote } from '../../src/proxy/launch.ts';
import type { ProxyStatus } from '../../src/proxy/types.ts';

const M = 'switchyard_proxy_';

async function page(parts: MetricsJson[]) {
  const { text, contentType } = await exposition(parts);
  assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  const m = await getMetricsFromStream(Readable.from([text]));
  const values = (name: string) =>
    Object.fromEntries(
      ((m[M + name]?.data ?? []) as PromData[]).map((d) => [Object.values(d.labels).join('|') || '-', d.value]),
    );
  return { m, values };
}

const snap = (over: Partial<ProxySnapshot> = {}): ProxySnapshot => ({
  listen: { host: '127.0.0.1', port: 0 },
  routes: [{ path: '/', service: 'app' }],
  backends: {},
  active: null,
  ...over,
});

test('a request is filed under its target, colour, route and status class', async () => {
  const t = new TrafficMetrics(() => ({ inFlight: { blue: 2, green: 0 }, websockets: { blue: 0, green: 1 } }));
  t.live.record('blue', 200, 4, false, '/');
  t.live.record('blue', 204, 4, false, '/');
  t.live.record('blue', 404, 4, false, '/api');
  t.live.record('green', 502, 4, true, '/api');
  t.live.record('green', 200, 4, true, '/api'); // a response cut off half way
  t.live.record('green', 0, 4, false, '/');
  t.preview.record('green', 500, 40, false, '/');
  const { m, values } = await page([await t.json()]);
  assert.deepEqual(values('requests_total'), {
    'live|blue|/|2xx': 2,
    'live|blue|/api|4xx': 1,
    'live|green|/api|failed': 2,
    'live|green|/|aborted': 1,
    'preview|green|/|5xx': 1,
  });
  const h = m[`${M}request_duration_seconds`]!.data as PromHistogramData[];
  const green = h.find((d) => d.labels.colour === 'green')!;
  assert.equal(green.count, 4);
  assert.equal(green.buckets['0.005'], 3);
  assert.equal(green.buckets['0.05'], 4);
  assert.ok(Math.abs((green.sum ?? 0) - 0.052) < 1e-9);
  assert.deepEqual(values('in_flight_requests'), { blue: 2, green: 0 });
  assert.deepEqual(values('open_websockets'), { blue: 0, green: 1 });
});

test("the duration histogram is what prom-client's own Histogram gives for the same requests", async () => {
  const t = new TrafficMetrics(() => ({ inFlight: { blue: 0, green: 0 }, websockets: { blue: 0, green: 0 } }));
  const registry = new Registry();
  const name = `${M}request_duration_seconds`;
  const mine = (await t.json()).find((x) => x.name === name)!;
  const theirs = new Histogram({
    name,
    help: mine.help,
    labelNames: ['colour'],
    buckets: [...DURATION_BUCKETS_S],
    registers: [registry],
  });
  for (const c of ['blue', 'green'] as const) theirs.zero({ colour: c });
  // On a bound, between bounds, past the last one, and zero.
  const ms = [1, 1.5, 10, 60_000, 61_000, 0, 250, 0.2, 2_500, 7, 33.3];
  ms.forEach((v, i) => {
    const colour = i % 3 ? 'blue' : 'green';
    t.live.record(colour, 200, v, false, '/');
    theirs.observe({ colour }, v / 1000);
  });
  const plain = (x: unknown) => JSON.parse(JSON.stringify(x, (k, v) => (k === 'exemplar' ? undefined : v)));
  const got = (await t.json()).find((x) => x.name === name);
  assert.deepEqual(plain(got), plain((await registry.getMetricsAsJSON())[0]));
});

test('the parts of several processes add up, label set by label set', async () => {
  const open = () => ({ inFlight: { blue: 1, green: 0 }, websockets: { blue: 0, green: 0 } });
  const a = new TrafficMetrics(open);
  const b = new TrafficMetrics(open);
  for (let i = 0; i < 3; i++) a.live.record('blue', 200, 1, false, '/');
  for (let i = 0; i < 4; i++) b.live.record('blue', 200, 1, false, '/');
  b.live.record('blue', 503, 1, false, '/');
  const { m, values } = await page([await a.json(), await b.json()]);
  assert.deepEqual(values('requests_total'), { 'live|blue|/|2xx': 7, 'live|blue|/|5xx': 1 });
  assert.deepEqual(values('in_flight_requests'), { blue: 2, green: 0 });
  const h = (m[`${M}request_duration_seconds`]!.data as PromHistogramData[]).find((d) => d.labels.colour === 'blue');
  assert.equal(h?.count, 8);
});

test('a switch is a change of the active colour; the split shows only while it applies', async () => {
  const s = new StateMetrics(snap());
  let v = (await page([await s.json()])).values;
  assert.deepEqual(v('switches_total'), { blue: 0, green: 0 });
  assert.deepEqual(v('active_colour'), { blue: 0, green: 0 });
  s.observe(snap({ active: 'blue' }));
  s.observe(snap({ active: 'blue', maintenance: { message: 'x', since: 'now' } }));
  v = (await page([await s.json()])).values;
  assert.deepEqual(v('switches_total'), { blue: 1, green: 0 }, 'the first colour counts; other changes do not');
  assert.deepEqual(v('maintenance'), { '-': 1 });
  s.observe(snap({ active: 'blue', canary: { colour: 'green', percent: 10 } }));
  v = (await page([await s.json()])).values;
  assert.deepEqual(v('canary_percent'), { blue: 0, green: 10 });
  assert.deepEqual(v('maintenance'), { '-': 0 });
  // A split toward the active colour is no split (as the proxy's routing table reads it).
  s.observe(snap({ active: 'green', canary: { colour: 'green', percent: 10 } }));
  v = (await page([await s.json()])).values;
  assert.deepEqual(v('canary_percent'), { blue: 0, green: 0 });
  assert.deepEqual(v('switches_total'), { blue: 1, green: 1 });
  assert.deepEqual(v('active_colour'), { blue: 0, green: 1 });
});

test('a running proxy whose metrics listener differs from the config gets a note, not a restart', () => {
  const live = (metrics?: { host: string; port: number }) => ({ ...(metrics ? { metrics } : {}) }) as ProxyStatus;
  const at = { host: '127.0.0.1', port: 9464 };
  assert.equal(metricsNote(live(at), { ...at }), undefined);
  assert.equal(metricsNote(live(), null), undefined);
  assert.equal(metricsNote(live(at), undefined), undefined);
  assert.match(metricsNote(live(), at) ?? '', /127\.0\.0\.1:9464 but the running proxy serves no metrics.*restarts/);
  assert.match(metricsNote(live(at), null) ?? '', /proxy\.metrics is not set but .* serves them on 127\.0\.0\.1:9464/);
  assert.match(metricsNote(live(at), { ...at, port: 9465 }) ?? '', /9465 but the running proxy serves them on .*9464/);
});
