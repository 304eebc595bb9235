/**
 * What the page shows, as one JSON document: read from the same places as `status` (it calls
 * run/status.ts), plus the release's manifest (commit, when), who deployed it (history), the last
 * history records, the backups, and the proxy's per-colour counters (for traffic.ts). Read-only: status() is
 * asked not to repair (a dead proxy or supervisor stays dead).
 */
import { verificationOf } from '../backup/files.js';
import type { RollbackOn } from '../config/canary-schema.js';
import type { Colour } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { proxyClient } from '../proxy/client.js';
import type { TrafficStats } from '../proxy/stats.js';
import type { Canary, Maintenance } from '../proxy/types.js';
import { backupFor } from '../run/backup.js';
import type { Engine } from '../run/context.js';
import { status } from '../run/status.js';
import { readManifest } from '../runtime/release.js';
import type { ServiceStatus } from '../runtime/types.js';
import { readHistory, type HistoryRecord } from '../state/history.js';
import { readJournal, ownerAlive, type JournalData } from '../state/journal.js';

/** The page filters these by type, result and text. */
export const HISTORY_SHOWN = 200;

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
  /** The proxy gives per-colour counts (the built-in proxy, running): the charts have rates, not only in-flight. */
  perColour: boolean;
  /** Why there are no per-colour figures, when there are none. */
  note?: string;
  /** deploy.rollbackOn: what the live watch judges against (the page shows it beside the figures). */
  thresholds?: RollbackOn;
}

export interface BackupView {
  name: string;
  at: string;
  bytes: number;
  format: string;
  why: string;
  verified: string;
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
    /** Open SSE responses per colour (built-in proxy). */
    streams: Record<Colour, number> | null;
  };
  traffic: TrafficView;
  /** Complete backups, newest first (what `switchyard backups` lists); null when none are configured. */
  backups: BackupView[] | null;
  lock: { description: string; alive: boolean } | null;
  history: HistoryRecord[];
  problems: Array<{ what: string; fix: string }>;
  /** Set when the view could not be read (the rest is then what was read before). */
  error?: string;
}

export type OperationView = Pick<
  JournalData,
  'id' | 'type' | 'from' | 'to' | 'release' | 'startedAt' | 'updatedAt' | 'steps' | 'committed' | 'failed' | 'canary'
> & { alive: boolean; pid: number };

/** The running (or interrupted) operation from the journal: cheap, read whenever the journal changes. */
export async function readOperation(e: Engine): Promise<OperationView | null> {
  const j = await readJournal(e.paths).catch(() => undefined);
  if (!j) return null;
  const { id, type, from, to, release, startedAt, updatedAt, steps, committed, failed, canary } = j;
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
    ...(canary ? { canary } : {}),
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

/**
 * The built-in proxy's cumulative per-colour counters (the charts are their differences,
 * traffic.ts). nginx counts per colour only in its access log while a deploy watches, and a
 * swarm edge has no control socket here: the page then charts requests in flight only.
 */
async function traffic(e: Engine, running: boolean): Promise<{ view: TrafficView; stats: TrafficStats | null }> {
  const cfg = e.loaded.config;
  const thresholds = cfg.deploy.rollbackOn ? { thresholds: cfg.deploy.rollbackOn } : {};
  const none = (note: string) => ({ view: { perColour: false, note, ...thresholds }, stats: null });
  if (cfg.proxy.kind !== 'builtin')
    return none(`${cfg.proxy.kind} gives no per-colour rates outside a deploy's watch: requests in flight only`);
  if (cfg.runtime === 'swarm') return none('the swarm edge proxies are not read by the dashboard yet');
  if (!running) return none('the proxy is not running');
  try {
    const stats = await proxyClient(e.paths.proxySocket, { timeoutMs: 1_000 }).stats();
    return { view: { perColour: true, ...thresholds }, stats };
  } catch (err) {
    return none(`could not read the proxy's figures: ${errorMessage(err)}`);
  }
}

async function backups(e: Engine): Promise<BackupView[] | null> {
  const b = backupFor(e);
  if (!b) return null;
  const all = await b.list().catch(() => []);
  return all.map((m) => ({
    name: m.name,
    at: m.at,
    bytes: m.bytes,
    format: m.format,
    why: m.deployId ? `deploy ${m.deployId}` : m.reason,
    verified: verificationOf(m),
  }));
}

/**
 * The whole view, read without repairing anything (status with repair false), and the proxy's
 * counters for the traffic series. The operation in progress is not in it: the feed reads the
 * journal whenever it changes (events.ts).
 */
export async function collectView(e: Engine): Promise<{ view: DashboardView; stats: TrafficStats | null }> {
  const [history, s] = await Promise.all([readHistory(e.paths), status(e, { repair: false })]);
  const cfg = e.loaded.config;
  const view: Omit<DashboardView, 'release' | 'traffic' | 'backups' | 'history' | 'at'> = {
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
      streams: s.proxy.streams ?? null,
    },
    lock: s.lock ? { description: s.lock.description, alive: s.lock.alive } : null,
    problems: s.problems,
  };
  const t = await traffic(e, s.proxy.running);
  return {
    view: {
      at: new Date().toISOString(),
      ...view,
      release: await releaseInfo(e, view.active ? view.colours[view.active].release : null, history),
      traffic: t.view,
      backups: await backups(e),
      history: history.slice(-HISTORY_SHOWN).reverse(),
    },
    stats: t.stats,
  };
}
