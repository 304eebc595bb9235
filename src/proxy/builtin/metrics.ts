/**
 * The built-in proxy's Prometheus metrics (proxy.metrics; docs/traffic.md#metrics), with prom-client.
 * In two parts, because with proxy.workers > 1 they live in different processes:
 *
 * - TrafficMetrics, in every process that serves traffic: requests by target, colour, route and
 *   status class, their duration, in-flight requests and open WebSockets.
 * - StateMetrics, in the daemon: the active colour, the canary split, maintenance, and the switches,
 *   all read from each snapshot as it is saved (a change is saved before any worker applies it, I4),
 *   so they are counted once whatever the number of workers.
 *
 * exposition() renders one page from the parts' registries as JSON (getMetricsAsJSON, which is what
 * a worker sends the daemon) with AggregatorRegistry.aggregate: every metric here sums (its default
 * aggregator), so the page shows the whole daemon's traffic whichever worker served it.
 *
 * Cost: none while proxy.metrics is absent (no TrafficMetrics exists; the forwarder takes no clock).
 * While on, a request costs two clock reads and two increments in typed arrays (bench/metrics-cost.mjs):
 * the counts and the duration buckets are kept here and handed to prom-client when scraped, because
 * its metrics take one observation at a time through their label checks (0.6-1.7 µs measured per
 * request for a counter and a histogram, several times the rest of the recording).
 */
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { COLOURS, type Colour } from '../../config/schema.js';
import type { ProxySnapshot } from './snapshot.js';
import { liveCanary } from './table.js';
import type { RequestRecorder } from './watch.js';

/**
 * One metric as prom-client's getMetricsAsJSON gives it and AggregatorRegistry.aggregate reads it (its
 * own declarations type `type` as a numeric enum that does not exist at run time: it is the name).
 */
export interface MetricJson {
  name: string;
  help: string;
  type: string;
  aggregator: string;
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
}
/** One process's metrics (what a worker sends the daemon). */
export type MetricsJson = MetricJson[];

/** A registry's metrics in that form. */
async function registryJson(r: Registry): Promise<MetricsJson> {
  return (await r.getMetricsAsJSON()) as unknown as MetricsJson;
}

const PREFIX = 'switchyard_proxy_';

/** Request duration buckets, seconds: from 1 ms (a loopback answer) to 60 s (a long poll). */
export const DURATION_BUCKETS_S: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * The `target` label: `live` is what the public listener serves everyone (the active colour, a
 * canary split's share); `preview` is the inactive colour reached through the preview listener or
 * the preview header or cookie.
 */
export const TARGETS = ['live', 'preview'] as const;

/**
 * The `status_class` label: `aborted`, the client left before any answer; `1xx`..`9xx`, the class
 * of the status sent; `failed`, the backend gave no complete answer (the proxy's own 502/504, or a
 * response it had to cut off: what the live watch counts as failures).
 */
export const STATUS_CLASSES = ['aborted', '1xx', '2xx', '3xx', '4xx', '5xx', '6xx', '7xx', '8xx', '9xx', 'failed'];
const FAILED = STATUS_CLASSES.length - 1;

export function statusClassIndex(status: number, failed: boolean): number {
  if (status === 0) return 0;
  if (failed) return FAILED;
  const k = Math.floor(status / 100);
  return k >= 1 && k <= 9 ? k : FAILED;
}

/** Cells per route: target x colour x status class. */
const CELLS = TARGETS.length * COLOURS.length * STATUS_CLASSES.length;
const cell = (t: number, c: number, k: number) => (t * COLOURS.length + c) * STATUS_CLASSES.length + k;

/** What is open per colour right now (the proxy's Counters). */
export type OpenNow = () => { inFlight: Record<Colour, number>; websockets: Record<Colour, number> };

/**
 * The request duration histogram, per colour: bucket counts and sums kept here, given to prom-client
 * in the JSON form its own Histogram has (the unit test holds the two side by side).
 */
class Durations {
  static readonly NAME = `${PREFIX}request_duration_seconds`;
  /** Per colour: a count per bucket of DURATION_BUCKETS_S (not cumulative), the last one past them all. */
  private readonly buckets = {
    blue: new Float64Array(DURATION_BUCKETS_S.length + 1),
    green: new Float64Array(DURATION_BUCKETS_S.length + 1),
  };
  private readonly sums = { blue: 0, green: 0 };

  observe(colour: Colour, seconds: number): void {
    let i = 0;
    while (i < DURATION_BUCKETS_S.length && seconds > DURATION_BUCKETS_S[i]!) i++;
    this.buckets[colour][i]!++;
    this.sums[colour] += seconds;
  }

  json(): MetricJson {
    const name = Durations.NAME;
    const values: MetricJson['values'] = [];
    for (const colour of COLOURS) {
      const b = this.buckets[colour];
      let count = 0;
      DURATION_BUCKETS_S.forEach((le, i) => {
        count += b[i]!;
        values.push({ value: count, metricName: `${name}_bucket`, labels: { le, colour } });
      });
      count += b[DURATION_BUCKETS_S.length]!;
      values.push({ value: count, metricName: `${name}_bucket`, labels: { le: '+Inf', colour } });
      values.push({ value: this.sums[colour], metricName: `${name}_sum`, labels: { colour } });
      values.push({ value: count, metricName: `${name}_count`, labels: { colour } });
    }
    return {
      name,
      help: 'Time from a request reaching the proxy to the end of its answer (or the client leaving), by colour',
      type: 'histogram',
      values,
      aggregator: 'sum',
    };
  }
}

export class TrafficMetrics {
  readonly registry = new Registry();
  /** Per route path as configured: request counts by cell(). Routes stay once seen: counters never vanish. */
  private readonly counts = new Map<string, Float64Array>();
  private readonly durations = new Durations();
  /** What the forwarder calls for a request on the public listener, and for one to the preview target. */
  readonly live: RequestRecorder;
  readonly preview: RequestRecorder;

  constructor(open: OpenNow) {
    const registers = [this.registry];
    const counts = this.counts;
    new Counter({
      name: `${PREFIX}requests_total`,
      help:
        'Requests the proxy forwarded, by target (live, preview), colour, route (its path as configured) and ' +
        'status class (1xx-5xx; failed: no complete answer from the backend; aborted: the client left first)',
      labelNames: ['target', 'colour', 'route', 'status_class'],
      registers,
      collect() {
        this.reset();
        for (const [route, n] of counts) {
          n.forEach((v, i) => {
            if (v === 0) return;
            const k = i % STATUS_CLASSES.length;
            const tc = (i - k) / STATUS_CLASSES.length;
            const colour = COLOURS[tc % COLOURS.length]!;
            const target = TARGETS[(tc - (tc % COLOURS.length)) / COLOURS.length]!;
            this.inc({ target, colour, route, status_class: STATUS_CLASSES[k]! }, v);
          });
        }
      },
    });
    const openGauges = [
      ['in_flight_requests', 'Requests forwarded and not yet answered, by colour', 'inFlight'],
      ['open_websockets', 'WebSockets relayed to each colour and still open', 'websockets'],
    ] as const;
    for (const [name, help, key] of openGauges)
      new Gauge({
        name: `${PREFIX}${name}`,
        help,
        labelNames: ['colour'],
        registers,
        collect() {
          const now = open();
          for (const c of COLOURS) this.set({ colour: c }, now[key][c]);
        },
      });
    this.live = this.recorder(0);
    this.preview = this.recorder(1);
  }

  private recorder(target: number): RequestRecorder {
    return {
      record: (colour, status, ms, failed, route) => {
        let n = this.counts.get(route);
        if (n === undefined) this.counts.set(route, (n = new Float64Array(CELLS)));
        n[cell(target, colour === 'blue' ? 0 : 1, statusClassIndex(status, failed))]!++;
        this.durations.observe(colour, ms / 1000);
      },
    };
  }

  async json(): Promise<MetricsJson> {
    return [...(await registryJson(this.registry)), this.durations.json()];
  }
}

/** The routing state as metrics, and the switches, from each snapshot the daemon saves. */
export class StateMetrics {
  readonly registry = new Registry();
  private last: Colour | null;
  private readonly switches: Counter<'colour'>;
  private readonly active: Gauge<'colour'>;
  private readonly canary: Gauge<'colour'>;
  private readonly maintenance: Gauge;

  constructor(snap: ProxySnapshot) {
    const registers = [this.registry];
    this.switches = new Counter({
      name: `${PREFIX}switches_total`,
      help:
        'Times the active colour changed, by the colour traffic moved to (a switch, a rollback, a canary ' +
        'promoted); counted since the proxy daemon started',
      labelNames: ['colour'],
      registers,
    });
    this.active = new Gauge({
      name: `${PREFIX}active_colour`,
      help: '1 for the colour the proxy serves to everyone outside a canary split, 0 for the other',
      labelNames: ['colour'],
      registers,
    });
    this.canary = new Gauge({
      name: `${PREFIX}canary_percent`,
      help: 'Percent of clients a canary split sends to this colour (0 for both when no split runs)',
      labelNames: ['colour'],
      registers,
    });
    this.maintenance = new Gauge({
      name: `${PREFIX}maintenance`,
      help: '1 while maintenance mode answers 503 to everyone outside its allowlist, else 0',
      registers,
    });
    for (const c of COLOURS) this.switches.inc({ colour: c }, 0);
    this.last = snap.active;
    this.show(snap);
  }

  /** A snapshot the daemon just saved: the state it shows from now on. */
  observe(snap: ProxySnapshot): void {
    if (snap.active !== null && snap.active !== this.last) this.switches.inc({ colour: snap.active });
    this.last = snap.active;
    this.show(snap);
  }

  private show(snap: ProxySnapshot): void {
    const split = liveCanary(snap);
    for (const c of COLOURS) {
      this.active.set({ colour: c }, snap.active === c ? 1 : 0);
      this.canary.set({ colour: c }, split?.colour === c ? split.percent : 0);
    }
    this.maintenance.set(snap.maintenance ? 1 : 0);
  }

  json(): Promise<MetricsJson> {
    return registryJson(this.registry);
  }
}

/**
 * One page in the Prometheus text format from several registries' JSON (the daemon's state, each
 * serving process's traffic): metrics of the same name are summed, label set by label set.
 */
export async function exposition(parts: MetricsJson[]): Promise<{ text: string; contentType: string }> {
  const registry = AggregatorRegistry.aggregate(parts);
  return { text: await registry.metrics(), contentType: registry.contentType };
}
