/**
 * What the page shows, as one JSON document: read from the same places as `status` (it calls
 * run/status.ts), plus the release's manifest (commit, when), who deployed it (history), the last
 * history records, and the proxy's per-colour counters while it counts. Read-only: status() is
 * asked not to repair (a dead proxy or supervisor stays dead).
 */
import { COLOURS, type Colour } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { proxyClient } from '../proxy/client.js';
import { errorRate, quantileMs, type TrafficStats } from '../proxy/stats.js';
import type { Canary, Maintenance } from '../proxy/types.js';
import type { Engine } from '../run/context.js';
import { status } from '../run/status.js';
import { readManifest } from '../runtime/release.js';
import type { ServiceStatus } from '../runtime/types.js';
import { readHistory, type HistoryRecord } from '../state/history.js';
import { readJournal, ownerAlive, type JournalData } from '../state/journal.js';

export const HISTORY_SHOWN = 25;

export interface ReleaseInfo {
  id: string;
  commit?: string;
  dirty?: boolean;
  createdAt?: string;
  /** The history record that made it live: who, when, how. */
  deployedAt?: string;
  deployedBy?: string;
  deployedWith?: string;
}

export interface ColourView {
  release: string | null;
  state: string;
  running: string | null;
  services: ServiceStatus[];
}

export interface TrafficView {
  /** The proxy counts per colour (the live watch): without it there are no figures, and the page says so. */
  counting: boolean;
  /** Why there are no figures, when there are none. */
  note?: string;
  colours?: Record<Colour, { requests: number; errors: number; errorRate: number; p50Ms?: number; p99Ms?: number }>;
}

export interface DashboardView {
  at: string;
  app: string;
  active: Colour | null;
  release: ReleaseInfo | null;
  colours: Record<Colour, ColourView>;
  proxy: {
    kind: string;
    running: boolean;
    active: Colour | null;
    listen: string;
    canary: Canary | null;
    maintenance: Maintenance | null;
    inFlight: Record<Colour, number> | null;
    websockets: Record<Colour, number> | null;
  };
  traffic: TrafficView;
  lock: { description: string; alive: boolean } | null;
  history: HistoryRecord[];
  problems: Array<{ what: string; fix: string }>;
  /** Set when the view could not be read (the rest is then what was read before). */
  error?: string;
}

export type OperationView = Pick<
  JournalData,
  'id' | 'type' | 'from' | 'to' | 'release' | 'startedAt' | 'updatedAt' | 'steps' | 'committed' | 'failed'
> & { alive: boolean; pid: number };

/** The running (or interrupted) operation from the journal: cheap, read whenever the journal changes. */
export async function readOperation(e: Engine): Promise<OperationView | null> {
  const j = await readJournal(e.paths).catch(() => undefined);
  if (!j) return null;
  const { id, type, from, to, release, startedAt, updatedAt, steps, committed, failed } = j;
  return {
    id,
    type,
    from,
    to,
    release,
    startedAt,
    updatedAt,
    steps,
    committed,
    ...(failed ? { failed } : {}),
    alive: await ownerAlive(j.owner),
    pid: j.owner.pid,
  };
}

async function releaseInfo(e: Engine, id: string | null, history: HistoryRecord[]): Promise<ReleaseInfo | null> {
  if (!id) return null;
  const m = await readManifest(e.paths, id).catch(() => undefined);
  const made = [...history]
    .reverse()
    .find(
      (h) => h.release === id && h.result === 'success' && ['init', 'deploy', 'rollback', 'switch'].includes(h.type),
    );
  return {
    id,
    ...(m?.commit ? { commit: m.commit } : {}),
    ...(m?.dirty ? { dirty: true } : {}),
    ...(m?.createdAt ? { createdAt: m.createdAt } : {}),
    ...(made ? { deployedAt: made.time, deployedBy: made.origin ? `${made.who} (${made.origin})` : made.who } : {}),
    ...(made ? { deployedWith: made.type } : {}),
  };
}

async function traffic(e: Engine, running: boolean, watching: boolean): Promise<TrafficView> {
  if (e.loaded.config.proxy.kind !== 'builtin')
    return { counting: false, note: `per-colour figures are not read from ${e.loaded.config.proxy.kind} yet` };
  if (!running) return { counting: false, note: 'the proxy is not running' };
  if (!watching)
    return {
      counting: false,
      note: 'the proxy is not counting per colour now (it counts while a deploy watches, deploy.rollbackOn)',
    };
  let s: TrafficStats;
  try {
    s = await proxyClient(e.paths.proxySocket, { timeoutMs: 1_000 }).stats();
  } catch (err) {
    return { counting: false, note: `could not read the proxy's figures: ${errorMessage(err)}` };
  }
  const colours = Object.fromEntries(
    COLOURS.map((c) => {
      const x = s.colours[c];
      const p50 = quantileMs(x, 0.5);
      const p99 = quantileMs(x, 0.99);
      return [
        c,
        {
          requests: x.requests,
          errors: x.errors,
          errorRate: errorRate(x),
          ...(p50 !== undefined ? { p50Ms: p50 } : {}),
          ...(p99 !== undefined ? { p99Ms: p99 } : {}),
        },
      ];
    }),
  ) as TrafficView['colours'];
  return { counting: s.enabled, ...(colours ? { colours } : {}) };
}

/**
 * The whole view, read without repairing anything (status with repair false). The operation in
 * progress is not in it: the feed reads the journal whenever it changes (events.ts).
 */
export async function collectView(e: Engine): Promise<DashboardView> {
  const [history, s] = await Promise.all([readHistory(e.paths), status(e, { repair: false })]);
  const cfg = e.loaded.config;
  const view: Omit<DashboardView, 'release' | 'traffic' | 'history' | 'at'> = {
    app: s.app,
    active: s.active,
    colours: s.colours,
    proxy: {
      kind: cfg.proxy.kind,
      running: s.proxy.running,
      active: s.proxy.active,
      listen: s.proxy.listen,
      canary: s.proxy.canary ?? null,
      maintenance: s.proxy.maintenance ?? null,
      inFlight: s.proxy.inFlight ?? null,
      websockets: s.proxy.websockets ?? null,
    },
    lock: s.lock ? { description: s.lock.description, alive: s.lock.alive } : null,
    problems: s.problems,
  };
  return {
    at: new Date().toISOString(),
    ...view,
    release: await releaseInfo(e, view.active ? view.colours[view.active].release : null, history),
    traffic: await traffic(e, s.proxy.running, s.proxy.watching ?? false),
    history: history.slice(-HISTORY_SHOWN).reverse(),
  };
}
