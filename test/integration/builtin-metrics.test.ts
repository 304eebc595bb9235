/**
 * Prometheus metrics from the built-in proxy (proxy.metrics; src/proxy/builtin/metrics.ts): the real
 * daemon in process, with one process and with proxy.workers: 2, real backends, a known number of
 * requests per colour, route and status, and /metrics read back through a Prometheus text-format
 * parser (prom2javascript), never by regex: the counts must equal what the clients got.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { getMetricsFromStream, type PromData, type PromHistogramData, type PromMetrics } from 'prom2javascript';
import type { Colour } from '../../src/config/schema.js';
import { runProxyDaemon } from '../../src/proxy/builtin/daemon.js';
import type { MetricsJson } from '../../src/proxy/builtin/metrics.js';
import { saveSnapshot, type ProxySnapshot } from '../../src/proxy/builtin/snapshot.js';
import { proxyClient } from '../../src/proxy/client.js';
import { projectPaths, type ProjectPaths } from '../../src/state/paths.js';
import { freePort, get, squat } from '../helpers/backends.js';
import { hit, many, type Hit } from '../helpers/builtin-traffic.js';
import { budget } from '../helpers/budget.js';
import { local, tempProject } from '../helpers/proxy.js';

const M = 'switchyard_proxy_';
const routes = [
  { path: '/api', service: 'app' },
  { path: '/', service: 'app' },
];

/** A backend that answers `?status=NNN` with that status (200 without), after `?ms=` when given. */
async function statusBackend(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const status = Number(url.searchParams.get('status') ?? 200);
    const body = JSON.stringify({ status });
    req.resume();
    const answer = () => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    const ms = Number(url.searchParams.get('ms') ?? 0);
    if (ms > 0) {
      const t = setTimeout(answer, ms);
      res.on('close', () => clearTimeout(t));
    } else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** GET /metrics, parsed by a Prometheus text-format parser. */
async function scrape(port: number): Promise<PromMetrics> {
  const r = await get(port, '/metrics');
  assert.equal(r.status, 200, r.body);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return getMetricsFromStream(Readable.from([r.body]));
}

function series(m: PromMetrics, name: string): PromData[] {
  const metric = m[M + name];
  assert.ok(metric, `${M + name} is on the page`);
  return metric.data as PromData[];
}

/** The sum of `name`'s samples whose labels include `match`. */
function total(m: PromMetrics, name: string, match: Record<string, string> = {}): number {
  return series(m, name)
    .filter((d) => Object.entries(match).every(([k, v]) => d.labels[k] === v))
    .reduce((a, d) => a + d.value, 0);
}

function durations(m: PromMetrics, colour: Colour): PromHistogramData {
  const h = m[`${M}request_duration_seconds`];
  assert.equal(h?.type, 'histogram');
  const d = (h!.data as PromHistogramData[]).find((x) => x.labels.colour === colour);
  assert.ok(d, `a duration histogram for ${colour}`);
  return d;
}

/** What the clients saw, keyed as the metrics label it: colour|route|status_class. */
class Sent {
  readonly counts = new Map<string, number>();
  add(route: string, h: Hit, failed = false): void {
    assert.ok(h.colour === 'blue' || h.colour === 'green', `answered by a colour: ${h.status} ${h.body}`);
    const cls = failed ? 'failed' : `${Math.floor(h.status / 100)}xx`;
    const key = `${h.colour}|${route}|${cls}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  of(colour: Colour): number {
    let n = 0;
    for (const [k, v] of this.counts) if (k.startsWith(`${colour}|`)) n += v;
    return n;
  }
}

/** Every (colour, route, status class) the clients saw has exactly that count on the page, and nothing else does. */
function assertCountsEqual(m: PromMetrics, sent: Sent): void {
  const seen = new Map<string, number>();
  for (const d of series(m, 'requests_total')) {
    assert.equal(d.labels.target, 'live');
    const key = `${d.labels.colour}|${d.labels.route}|${d.labels.status_class}`;
    seen.set(key, (seen.get(key) ?? 0) + d.value);
  }
  assert.deepEqual(
    Object.fromEntries([...seen].filter(([, v]) => v > 0).sort()),
    Object.fromEntries([...sent.counts].sort()),
  );
  for (const c of ['blue', 'green'] as const) {
    const h = durations(m, c);
    assert.equal(h.count, sent.of(c), `${c}: one duration per request`);
    assert.equal(h.buckets['+Inf'], h.count);
  }
}

/** `n` requests to `path` (status `status` from the backend), 8 at a time, each on its own connection. */
async function send(sent: Sent, port: number, route: string, path: string, n: number): Promise<Hit[]> {
  const hits = await many(n, 8, () => hit(port, path));
  for (const h of hits) sent.add(route, h);
  return hits;
}

interface Daemon {
  stop: () => Promise<void>;
  metrics: () => Promise<MetricsJson[]>;
}

/** The daemon in this process, as `switchyard proxy` runs it; `metrics()` gives each serving process's part. */
async function startDaemon(root: string): Promise<Daemon> {
  const ac = new AbortController();
  let ready!: (p: { metrics: () => Promise<MetricsJson[]> }) => void;
  const serving = new Promise<{ metrics: () => Promise<MetricsJson[]> }>((r) => (ready = r));
  const done = runProxyDaemon(root, { signal: ac.signal, onReady: (p) => ready(p) });
  const p = await Promise.race([serving, done.then(() => assert.fail('the daemon stopped before serving'))]);
  return {
    metrics: () => p.metrics(),
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

function snapshotWith(ports: { blue: number; green: number }, port: number, metricsPort?: number): ProxySnapshot {
  return {
    listen: { host: '127.0.0.1', port },
    routes,
    backends: { blue: { app: [local(ports.blue)] }, green: { app: [local(ports.green)] } },
    active: 'blue',
    ...(metricsPort === undefined ? {} : { metrics: { host: '127.0.0.1', port: metricsPort } }),
  };
}

for (const workers of [1, 2]) {
  describe(`built-in proxy metrics, ${workers === 1 ? 'one process' : `${workers} workers`}`, () => {
    let blue: Awaited<ReturnType<typeof statusBackend>>;
    let green: Awaited<ReturnType<typeof statusBackend>>;
    let root: string;
    let cleanup: () => Promise<void>;
    let paths: ProjectPaths;
    let port: number;
    let metricsPort: number;
    let daemon: Daemon;
    const sent = new Sent();

    before(async () => {
      blue = await statusBackend();
      green = await statusBackend();
      ({ root, cleanup } = await tempProject());
      paths = projectPaths(root);
      port = await freePort();
      metricsPort = await freePort();
      await fs.mkdir(paths.dir, { recursive: true });
      const snap = snapshotWith({ blue: blue.port, green: green.port }, port, metricsPort);
      await saveSnapshot(paths.proxyState, workers > 1 ? { ...snap, workers } : snap);
      daemon = await startDaemon(root);
    }, budget(1_500));
    after(async () => {
      await daemon?.stop();
      await blue.close();
      await green.close();
      await cleanup();
    }, budget(500));

    it('starts with every series at zero, blue active, no split, no maintenance', budget(100), async () => {
      const m = await scrape(metricsPort);
      assert.equal(total(m, 'requests_total'), 0);
      assert.equal(durations(m, 'blue').count, 0);
      assert.deepEqual(
        [total(m, 'active_colour', { colour: 'blue' }), total(m, 'active_colour', { colour: 'green' })],
        [1, 0],
      );
      assert.equal(total(m, 'switches_total'), 0);
      assert.equal(total(m, 'canary_percent'), 0);
      assert.equal(total(m, 'maintenance'), 0);
      assert.equal(total(m, 'in_flight_requests'), 0);
      assert.equal(total(m, 'open_websockets'), 0);
      const s = await proxyClient(paths.proxySocket).status();
      assert.deepEqual(s.metrics, { host: '127.0.0.1', port: metricsPort });
    });

    it(
      'counts 37 requests to blue, a switch, 23 to green: per colour, route and status class, as the clients saw them',
      budget(500),
      async () => {
        const c = proxyClient(paths.proxySocket);
        await send(sent, port, '/api', '/api/items', 25);
        await send(sent, port, '/api', '/api/items?status=404', 5);
        await send(sent, port, '/', '/page?status=500', 4);
        await send(sent, port, '/', '/', 3);
        assert.equal(sent.of('blue'), 37);
        await c.switchTo('green');
        await send(sent, port, '/', '/', 15);
        await send(sent, port, '/api', '/api/x?status=503', 3);
        await send(sent, port, '/', '/gone?status=301', 5);
        assert.equal(sent.of('green'), 23);
        const m = await scrape(metricsPort);
        assertCountsEqual(m, sent);
        assert.equal(total(m, 'requests_total', { colour: 'blue' }), 37);
        assert.equal(total(m, 'requests_total', { colour: 'green', status_class: '5xx' }), 3);
        assert.deepEqual(
          [total(m, 'active_colour', { colour: 'blue' }), total(m, 'active_colour', { colour: 'green' })],
          [0, 1],
        );
        assert.deepEqual(
          [total(m, 'switches_total', { colour: 'blue' }), total(m, 'switches_total', { colour: 'green' })],
          [0, 1],
        );
        if (workers > 1) {
          // The page is a sum: each worker served a share, none served all.
          const parts = await daemon.metrics();
          assert.equal(parts.length, workers);
          const each = parts.map((p) =>
            (p.find((x) => x.name === `${M}requests_total`)?.values ?? []).reduce((a, v) => a + v.value, 0),
          );
          assert.ok(
            each.every((n) => n > 0 && n < 60),
            `requests per worker: ${each.join(', ')}`,
          );
          assert.equal(
            each.reduce((a, b) => a + b, 0),
            60,
          );
        }
      },
    );

    it("counts a dead backend's 502s as failed, not as 5xx answers", budget(200), async () => {
      const c = proxyClient(paths.proxySocket);
      const dead = await freePort();
      await c.setBackends('green', { app: [local(dead)] });
      const hits = await many(6, 3, () => hit(port, '/api/down'));
      for (const h of hits) {
        assert.equal(h.status, 502);
        sent.add('/api', h, true);
      }
      await c.setBackends('green', { app: [local(green.port)] });
      const m = await scrape(metricsPort);
      assertCountsEqual(m, sent);
      assert.equal(total(m, 'requests_total', { colour: 'green', status_class: 'failed' }), 6);
    });

    it('shows a request in flight while it runs, and none after', budget(200), async () => {
      const slow = hit(port, '/slow?ms=1500');
      let m = await scrape(metricsPort);
      for (let i = 0; i < 50 && total(m, 'in_flight_requests', { colour: 'green' }) === 0; i++)
        m = await scrape(metricsPort);
      assert.equal(total(m, 'in_flight_requests', { colour: 'green' }), 1);
      assert.equal(total(m, 'in_flight_requests', { colour: 'blue' }), 0);
      const h = await slow;
      assert.equal(h.status, 200);
      sent.add('/', h);
      m = await scrape(metricsPort);
      assert.equal(total(m, 'in_flight_requests'), 0);
      assertCountsEqual(m, sent);
      const took = durations(m, 'green').sum ?? 0;
      assert.ok(took >= 1.5, `green's durations add up to ${took} s`);
    });

    it('follows the split share and maintenance; a promoted canary is a switch', budget(200), async () => {
      const c = proxyClient(paths.proxySocket);
      await c.setWeight('blue', 25);
      let m = await scrape(metricsPort);
      assert.deepEqual(
        [total(m, 'canary_percent', { colour: 'blue' }), total(m, 'canary_percent', { colour: 'green' })],
        [25, 0],
      );
      await c.setWeight('blue', 0);
      m = await scrape(metricsPort);
      assert.equal(total(m, 'canary_percent'), 0);
      await c.setMaintenance({ on: true, message: 'back soon' });
      assert.equal(total(await scrape(metricsPort), 'maintenance'), 1);
      await c.setMaintenance({ on: false });
      assert.equal(total(await scrape(metricsPort), 'maintenance'), 0);
      await c.setWeight('blue', 50);
      await c.switchTo('blue');
      m = await scrape(metricsPort);
      assert.equal(total(m, 'canary_percent'), 0);
      assert.deepEqual(
        [total(m, 'switches_total', { colour: 'blue' }), total(m, 'switches_total', { colour: 'green' })],
        [1, 1],
      );
      assert.equal(total(m, 'active_colour', { colour: 'blue' }), 1);
    });

    it('serves GET and HEAD /metrics only: 404 elsewhere, 405 for other methods', budget(100), async () => {
      assert.equal((await get(metricsPort, '/')).status, 404);
      assert.equal((await get(metricsPort, '/metrics/x')).status, 404);
      const post = await get(metricsPort, '/metrics', { method: 'POST', body: '{}' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.allow, 'GET, HEAD');
      const head = await get(metricsPort, '/metrics', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.ok(Number(head.headers['content-length']) > 0);
      // The public port does not serve the metrics: /metrics there is the app's.
      assert.equal((await hit(port, '/metrics')).colour, 'blue');
    });
  });
}

describe('built-in proxy metrics: the listener', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let paths: ProjectPaths;

  before(async () => {
    ({ root, cleanup } = await tempProject());
    paths = projectPaths(root);
    await fs.mkdir(paths.dir, { recursive: true });
  }, budget(100));
  after(() => cleanup(), budget(100));

  it('refuses a metrics port in use with PORT_IN_USE naming it, and leaves nothing open', budget(200), async () => {
    const taken = await squat();
    const port = await freePort();
    try {
      await saveSnapshot(paths.proxyState, snapshotWith({ blue: 1, green: 2 }, port, taken.port));
      await assert.rejects(runProxyDaemon(root), (err: Error & { code?: string; hint?: string }) => {
        assert.equal(err.code, 'PORT_IN_USE');
        assert.match(err.message, new RegExp(`metrics listener cannot listen on 127\\.0\\.0\\.1:${taken.port}`));
        assert.match(err.hint ?? '', /proxy\.metrics\.listen/);
        return true;
      });
      await assert.rejects(fs.stat(paths.proxySocket), { code: 'ENOENT' });
      // The public port, bound before the metrics listener failed, was let go.
      const probe = http.createServer();
      await new Promise<void>((r, j) => probe.once('error', j).listen(port, '127.0.0.1', () => r()));
      await new Promise((r) => probe.close(r));
    } finally {
      await taken.close();
    }
  });

  it('without proxy.metrics opens no listener and reports none', budget(200), async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    await saveSnapshot(paths.proxyState, snapshotWith({ blue: 1, green: 2 }, port));
    const d = await startDaemon(root);
    try {
      assert.equal((await proxyClient(paths.proxySocket).status()).metrics, undefined);
      assert.deepEqual(await d.metrics(), []);
      await assert.rejects(get(metricsPort, '/metrics'), { code: 'ECONNREFUSED' });
    } finally {
      await d.stop();
    }
  });
});
