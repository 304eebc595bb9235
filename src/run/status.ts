/**
 * status: one view of state.json, .current-env, the runtime, the proxy and the lock, with every disagreement flagged.
 */
import { COLOURS, type Colour } from '../config/schema.js';
import { assess } from '../plan/assess.js';
import type { Problem } from '../plan/facts.js';
import { readHistory, type HistoryRecord } from '../state/history.js';
import { ownerAlive, readJournal, type JournalData } from '../state/journal.js';
import { describeLock, readLock, type LockView } from '../state/lock.js';
import type { State } from '../state/state.js';
import type { ServiceStatus } from '../runtime/types.js';
import type { Canary, EdgeNode, Maintenance } from '../proxy/types.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { openProxy } from './proxy.js';
import { metricsNote, workersNote } from '../proxy/launch.js';
import { RESTART_CAP_MS } from '../runtime/process/restart-policy.js';

export interface StatusReport {
  app: string;
  active: Colour | null;
  currentEnv: string | null;
  proxy: {
    running: boolean;
    active: Colour | null;
    pid?: number;
    /** Built-in proxy with proxy.workers > 1: the worker processes' pids. */
    workers?: number[];
    /** The swarm edge proxy: every node meant to run a replica. */
    nodes?: EdgeNode[];
    listen: string;
    inFlight?: Record<Colour, number>;
    websockets?: Record<Colour, number>;
    /** Open SSE responses per colour (built-in: in `inFlight` too; nginx: counted from its stream connections). */
    streams?: Record<Colour, number>;
    /** A weighted split in progress. */
    canary?: Canary | null;
    maintenance?: Maintenance | null;
    /** The live watch is counting. */
    watching?: boolean;
    /** The preview listener's URL (serves the inactive colour). */
    preview?: string | null;
    /** Built-in proxy with proxy.metrics: the URL of its Prometheus metrics, as the running proxy serves them. */
    metrics?: string | null;
  };
  /**
   * release: what state.json records for the colour; running: the release its services actually
   * run (they differ after a failed deploy kept with --keep-old, which state.json never records).
   */
  colours: Record<Colour, { release: string | null; state: string; services: ServiceStatus[]; running: string | null }>;
  /** Shared services (docker runtime): never stopped by deploy or rollback. */
  shared: ServiceStatus[];
  lock: (LockView & { description: string }) | null;
  lastDeploy: HistoryRecord | null;
  /** The journal of an operation in progress (alive) or interrupted (not alive). */
  operation: (JournalData & { alive: boolean }) | null;
  problems: Problem[];
  /** What status did on its way (restarting a dead proxy). */
  notes: string[];
}

/**
 * `repair` (default true): a dead proxy or supervisor is started again, as by any command. The
 * dashboard reads with repair false: a page left open must not bring back what `down` stopped.
 */
export async function status(e: Engine, opts: { repair?: boolean } = {}): Promise<StatusReport> {
  const repair = opts.repair ?? true;
  let facts = await gatherFacts(e);
  const notes: string[] = [];
  // A dead proxy means users get nothing: any command that finds it dead brings it back, and it
  // restores its saved colour from proxy.json.
  if (repair && !facts.proxy && facts.state?.active) {
    const p = await openProxy(e);
    notes.push(
      `the proxy was not running: restarted it (pid ${p.status.pid}), serving ${p.status.active ?? 'nothing'}`,
    );
    facts = await gatherFacts(e);
  }
  // And a dead supervisor (process runtime): nothing would start an exited service again.
  const supervised = repair ? await e.runtime.supervise?.() : undefined;
  if (supervised) notes.push(supervised);
  const cfgProxy = e.loaded.config.proxy;
  if (facts.proxy && cfgProxy.kind === 'builtin') {
    for (const n of [
      workersNote(facts.proxy, cfgProxy.workers),
      metricsNote(facts.proxy, cfgProxy.metrics?.listen ?? null),
    ])
      if (n) notes.push(n);
  }
  const lock = await readLock(e.paths);
  const problems = assess(facts);
  const journal = await readJournal(e.paths);
  const operation = journal ? { ...journal, alive: !facts.interrupted && (await ownerAlive(journal.owner)) } : null;
  // The interrupted operation's own lock is part of that problem: `recover` clears it.
  const ownLock =
    lock && facts.interrupted && lock.pid === facts.interrupted.owner.pid && lock.host === facts.interrupted.owner.host;
  if (lock && !lock.alive && !ownLock)
    problems.push({ what: describeLock(lock), fix: 'run your next command with --force-unlock to clear it' });
  const services = Object.fromEntries(
    await Promise.all(COLOURS.map(async (c) => [c, await e.runtime.status(c)] as const)),
  ) as Record<Colour, ServiceStatus[]>;
  for (const c of COLOURS) {
    for (const svc of services[c]) {
      if (!svc.crashLoop) continue;
      problems.push({
        what:
          `${svc.service} (${c}) keeps exiting: it ${svc.crashLoop.lastExit}; started again ${svc.restarts ?? 0}` +
          ` time(s), and retried every ${RESTART_CAP_MS / 1000} s. Its log ends:\n` +
          svc.crashLoop.lines.replace(/^/gm, '      | '),
        fix:
          `see \`switchyard logs ${c} ${svc.service}\`` +
          (facts.state?.active === c ? '; deploy a fixed release, or `switchyard rollback`' : ''),
      });
    }
  }
  const running = Object.fromEntries(
    await Promise.all(
      COLOURS.map(
        async (c) =>
          [c, services[c].some((x) => x.running) ? ((await e.runtime.current(c))?.release ?? null) : null] as const,
      ),
    ),
  ) as Record<Colour, string | null>;
  const history = await readHistory(e.paths);
  const shared = (await e.runtime.sharedStatus?.()) ?? [];
  const last =
    [...history].reverse().find((h) => h.type === 'deploy' || h.type === 'rollback' || h.type === 'init') ?? null;
  const st: State | undefined = facts.state;
  const cfg = e.loaded.config;
  return {
    app: cfg.app,
    active: st?.active ?? null,
    currentEnv: facts.currentEnv ?? null,
    proxy: {
      running: !!facts.proxy,
      active: facts.proxy?.active ?? null,
      pid: facts.proxy?.pid,
      ...(facts.proxy?.workers ? { workers: facts.proxy.workers } : {}),
      ...(facts.proxy?.nodes ? { nodes: facts.proxy.nodes } : {}),
      listen: `${cfg.proxy.listen.host}:${cfg.proxy.listen.http}`,
      inFlight: facts.proxy?.inFlight,
      websockets: facts.proxy?.websockets,
      ...(facts.proxy?.streams ? { streams: facts.proxy.streams } : {}),
      canary: facts.proxy?.canary ?? null,
      maintenance: facts.proxy?.maintenance ?? null,
      watching: facts.proxy?.watching ?? false,
      preview:
        cfg.proxy.listen.preview === undefined ? null : `http://${cfg.proxy.preview.host}:${cfg.proxy.listen.preview}/`,
      metrics: facts.proxy?.metrics
        ? `http://${hostInUrl(facts.proxy.metrics.host)}:${facts.proxy.metrics.port}/metrics`
        : null,
    },
    colours: Object.fromEntries(
      COLOURS.map((c) => [
        c,
        {
          release: st?.colours[c].release ?? null,
          state: st?.colours[c].status ?? 'unknown',
          services: services[c],
          running: running[c],
        },
      ]),
    ) as StatusReport['colours'],
    shared,
    lock: lock ? { ...lock, description: describeLock(lock) } : null,
    lastDeploy: last,
    operation,
    problems,
    notes,
  };
}

/** An IPv6 address goes in brackets in a URL. */
function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
