/**
 * Backends given by name, kept current (issue 13: the edge proxy on a swarm node, whose backends are
 * a colour's tasks, `tasks.<app>_<service>_<colour>` on the overlay network). A backend whose host is
 * a name is resolved to all its addresses, each one instance; the names are resolved again every
 * interval, and the expanded backends are handed on only when the set of addresses changed, so a
 * steady swarm costs one lookup per name per interval and no routing change. A lookup that fails
 * (no task running yet, the resolver restarting) keeps the addresses last seen: tasks that come and
 * go are covered by the balancer (balance.ts), which skips and retries an address that refuses.
 * Backends given by address pass through untouched.
 */
import { isIP } from 'node:net';
import type { Endpoint } from '../../runtime/types.js';
import type { Backends } from '../types.js';

export const RESOLVE_INTERVAL_MS = 1_000;

/** All addresses of a name (dns.promises.lookup with all: true, in production). */
export type Resolve = (host: string) => Promise<string[]>;

const key = (b: Backends): string =>
  JSON.stringify(
    Object.keys(b)
      .sort()
      .map((s) => [s, b[s]!.map((e) => `${e.host}:${e.port}`)]),
  );

export class BackendResolver {
  private named: Backends = {};
  private known = new Map<string, string[]>();
  private last = '';
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly resolve: Resolve,
    private readonly onChange: (expanded: Backends) => void,
    private readonly intervalMs = RESOLVE_INTERVAL_MS,
  ) {}

  /** The backends as configured (names and addresses); resolves them now and hands them on. */
  async set(named: Backends): Promise<Backends> {
    this.named = named;
    return this.refresh();
  }

  /** Resolves every name again; hands the expansion on if it changed. Returns it either way. */
  async refresh(): Promise<Backends> {
    const names = new Set(
      Object.values(this.named)
        .flat()
        .map((e) => e.host)
        .filter((h) => isIP(h) === 0),
    );
    await Promise.all(
      [...names].map(async (host) => {
        const addrs = await this.resolve(host).catch(() => undefined);
        // Sorted, so the same tasks in another order are no change.
        if (addrs && addrs.length > 0) this.known.set(host, [...new Set(addrs)].sort());
      }),
    );
    for (const host of [...this.known.keys()]) if (!names.has(host)) this.known.delete(host);
    const expanded = this.expand();
    const k = key(expanded);
    if (k !== this.last) {
      this.last = k;
      this.onChange(expanded);
    }
    return expanded;
  }

  /** Resolves every interval until stop(); one refresh at a time. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.refresh().then(
        () => void (this.running = undefined),
        () => void (this.running = undefined),
      );
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Each named endpoint becomes one endpoint per address it resolved to (none yet: left out). */
  private expand(): Backends {
    const out: Backends = {};
    for (const [service, list] of Object.entries(this.named)) {
      const endpoints: Endpoint[] = list.flatMap((e) =>
        isIP(e.host) !== 0 ? [e] : (this.known.get(e.host) ?? []).map((host) => ({ host, port: e.port })),
      );
      if (endpoints.length > 0) out[service] = endpoints;
    }
    return out;
  }
}
