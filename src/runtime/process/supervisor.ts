/**
 * The supervisor: one small daemon per project (`switchyard supervise`) that watches every process
 * (every instance) of every started colour of the process runtime and starts an exited one again, from the same
 * release, port and environment (the run file's spawn record), with backoff (restart-policy.ts),
 * and runs the watchers it is given (the proxy keeper, run/proxy-keeper.ts, for any runtime).
 * It is not in the path of any request and holds no pipe of the apps: killed, it loses nothing,
 * and the next command (or the service manager) starts another that adopts what runs.
 *
 * A process it started itself is its child: its exit code or signal is known at once. One started
 * by a command (a deploy) is watched by its pid, every SUPERVISE_POLL_MS. A restart holds the
 * colour's lock (colour-lock.ts), so a stop in progress is never undone. It reports to
 * .switchyard/supervisor.json (status reads it) and records each restart in the history.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import { COLOURS, type Colour } from '../../config/schema.js';
import { errorMessage } from '../../errors.js';
import { writeJsonAtomic } from '../../state/atomic.js';
import { appendRestart } from '../../state/history.js';
import { projectPaths, type ProjectPaths } from '../../state/paths.js';
import { liveness } from '../../util/procinfo.js';
import { sleep } from '../../util/sleep.js';
import type { ServiceRun } from '../types.js';
import { withColourLock } from './colour-lock.js';
import {
  afterExit,
  afterRestart,
  describeExit,
  newTracker,
  settle,
  wantsRestart,
  type ExitInfo,
  type Tracker,
} from './restart-policy.js';
import { readRun, writeRun } from './runfile.js';
import { spawnService, type SpawnSpec } from './spawn.js';
import { spawnSpec } from './start.js';
import { loadConfig } from '../../config/load.js';
import { serviceOfKey } from '../../config/instances.js';
import { claimPidFile, releasePidFile } from '../supervisor-pid.js';
import type { SupervisedService, SupervisorReport } from './supervisor-report.js';

export const SUPERVISE_POLL_MS = 200;
/** With no colour started for this long, the supervisor exits (a later start brings it back). */
export const IDLE_EXIT_MS = 5_000;

interface Watched {
  colour: Colour;
  service: string;
  release: string;
  pid: number;
  startTicks?: string;
  tracker: Tracker;
  child?: ChildProcess;
  /** Set by our child's exit event, or by a poll that found the process gone. */
  exit?: ExitInfo;
  restartAt?: number;
  /** Not started again (policy, or no spawn record): the process stays down until a command acts. */
  given?: string;
  lastError?: string;
}

const key = (c: Colour, s: string) => `${c}/${s}`;
export function log(text: string): void {
  process.stdout.write(`${new Date().toISOString()} ${text}\n`);
}

/** Something else the supervisor keeps running (the proxy: run/proxy-keeper.ts), asked every round. */
export interface Watcher {
  /** One look, and a repair when needed; true while it has something to keep (no idle exit then). */
  round(): Promise<boolean>;
}

/**
 * `idleExit: false` (up --foreground, under a service manager): keep running when nothing is kept,
 * instead of exiting after IDLE_EXIT_MS (a service manager would start it again and again).
 */
/** Something with its own loop that runs while this supervisor holds the pid file (the log keeper). */
export interface Companion {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function runSupervisor(
  root: string,
  opts: { idleExit?: boolean; watchers?: Watcher[]; companions?: Companion[] } = {},
): Promise<void> {
  const paths = projectPaths(root);
  if (!(await claimPidFile(paths))) {
    log('another supervisor runs for this project; exiting');
    return;
  }
  log(`supervising ${root} (pid ${process.pid})`);
  const watched = new Map<string, Watched>();
  let stopping = false;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      stopping = true;
    });
  }
  let idleSince = performance.now();
  let lastReport = '';
  const companions = opts.companions ?? [];
  try {
    for (const c of companions) await c.start();
    while (!stopping) {
      if (!(await fs.stat(paths.dir).catch(() => undefined))) break; // the project is gone
      try {
        const seen = await observe(paths, watched);
        for (const w of watched.values()) await act(paths, w);
        lastReport = await report(paths, watched, lastReport);
        let kept = false;
        for (const w of opts.watchers ?? []) {
          kept =
            (await w.round().catch((e: unknown) => {
              log(`watcher: ${errorMessage(e)}`);
              return true;
            })) || kept;
        }
        if (seen > 0 || kept) idleSince = performance.now();
        else if (opts.idleExit !== false && performance.now() - idleSince >= IDLE_EXIT_MS) break;
      } catch (e) {
        // A passing failure (a full disk, a file being replaced) must not end the supervision:
        // it is logged, and the next round tries again.
        log(`this round failed: ${errorMessage(e)}`);
      }
      await sleep(SUPERVISE_POLL_MS);
    }
  } finally {
    for (const c of companions) await c.stop().catch((e: unknown) => log(errorMessage(e)));
    await releasePidFile(paths);
    log('supervisor exits; the services keep running');
  }
}

/** Reads the run files into `watched`; returns how many services are started. */
async function observe(paths: ProjectPaths, watched: Map<string, Watched>): Promise<number> {
  const live = new Set<string>();
  for (const colour of COLOURS) {
    const run = await readRun(paths, colour).catch((e: unknown) => void log(errorMessage(e)));
    for (const [service, s] of Object.entries(run?.services ?? {})) {
      const k = key(colour, service);
      live.add(k);
      const w = watched.get(k);
      // A command started the colour anew (or we restarted it): watch the process the run file names.
      if (!w || w.pid !== s.pid) watched.set(k, adopt(colour, service, run!.release, s));
    }
  }
  for (const k of [...watched.keys()]) if (!live.has(k)) watched.delete(k); // stopped on purpose
  return live.size;
}

function adopt(colour: Colour, service: string, release: string, s: ServiceRun): Watched {
  return {
    colour,
    service,
    release,
    pid: s.pid,
    ...(s.startTicks ? { startTicks: s.startTicks } : {}),
    tracker: newTracker(Date.now()),
  };
}

async function act(paths: ProjectPaths, w: Watched): Promise<void> {
  const now = Date.now();
  if (w.given) return;
  if (w.restartAt === undefined) {
    if (!w.exit && !w.child && (await liveness(w.pid, w.startTicks)) !== 'running') {
      w.exit = { at: now, code: null, signal: null, known: false };
    }
    if (!w.exit) {
      w.tracker = settle(w.tracker, now);
      return;
    }
    const colourRun = await readRun(paths, w.colour).catch(() => undefined);
    const run = colourRun?.services[w.service];
    if (!run || run.pid !== w.pid) return; // stopped or replaced meanwhile: observe() catches up
    log(`${w.colour}/${w.service} (pid ${w.pid}) ${describeExit(w.exit)}`);
    if (!wantsRestart(run.restart ?? 'always', w.exit)) {
      w.tracker = { ...w.tracker, lastExit: w.exit };
      w.given = `not started again (restart: ${run.restart})`;
      return;
    }
    if (!colourRun?.configFile) {
      w.tracker = { ...w.tracker, lastExit: w.exit };
      w.given = 'not started again: its run record names no config file (started by an older switchyard)';
      return;
    }
    const next = afterExit(w.tracker, w.exit);
    w.tracker = next.tracker;
    w.restartAt = next.restartAt;
  }
  if (Date.now() < w.restartAt) return;
  await withColourLock(paths, w.colour, 0, () => restart(paths, w));
}

async function restart(paths: ProjectPaths, w: Watched): Promise<void> {
  const run = await readRun(paths, w.colour);
  const s = run?.services[w.service];
  if (!run?.configFile || !s || s.pid !== w.pid) return; // a command changed the colour meanwhile
  const exit = w.exit!;
  const n = w.tracker.restarts + 1;
  const header =
    `--- switchyard supervisor: start ${w.service} as ${w.colour} again, release ${run.release}, port ${s.port}` +
    ` (restart ${n}; it ${describeExit(exit)}) (${new Date().toISOString()}) ---\n`;
  const t0 = Date.now();
  try {
    const spec = await respawnSpec(paths, run.configFile, w.colour, run.release, w.service, s.port);
    const sp = await spawnService(spec, paths.serviceLog(w.colour, w.service), header);
    const fresh: ServiceRun = { ...s, pid: sp.pid, startedAt: new Date().toISOString() };
    if (sp.startTicks) fresh.startTicks = sp.startTicks;
    else delete fresh.startTicks;
    await writeRun(paths, { ...run, services: { ...run.services, [w.service]: fresh } });
    Object.assign(w, {
      pid: sp.pid,
      startTicks: sp.startTicks,
      child: sp.child,
      exit: undefined,
      restartAt: undefined,
    });
    delete w.lastError;
    const ended = (x: NonNullable<typeof sp.exit>) => {
      if (w.child === sp.child) w.exit = { at: x.at, code: x.code, signal: x.signal, known: true };
    };
    if (sp.exit)
      ended(sp.exit); // it died while the run file was being written
    else sp.onExit = ended;
    w.tracker = afterRestart(w.tracker, Date.now());
    log(`${w.colour}/${w.service}: started again as pid ${sp.pid} (restart ${n})`);
  } catch (e) {
    // Could not even spawn (its release folder deleted?): counts as one more failure.
    w.lastError = errorMessage(e);
    const next = afterExit(w.tracker, { at: Date.now(), code: null, signal: null, known: false });
    Object.assign(w, { tracker: next.tracker, restartAt: next.restartAt });
    log(`${w.colour}/${w.service}: could not start it again: ${w.lastError}`);
  }
  await appendRestart(
    paths,
    {
      at: t0,
      colour: w.colour,
      release: run.release,
      service: w.service,
      reason:
        `${w.service} ${describeExit(exit)}` +
        (w.lastError ? `; could not start it again: ${w.lastError}` : `; started again (restart ${n})`),
      ...(w.lastError ? { error: w.lastError } : {}),
    },
    (t) => t,
  ).catch((e: unknown) => log(`history: ${errorMessage(e)}`));
}

/**
 * How the service is spawned, from the config file as it is now: switchyard stores no environment
 * values (I8), so the supervisor reads switchyard.yml and its .env files again, with the
 * environment it was itself started with, and builds the spawn exactly as start() does.
 */
async function respawnSpec(
  paths: ProjectPaths,
  configFile: string,
  colour: Colour,
  release: string,
  service: string,
  port: number,
): Promise<SpawnSpec> {
  const loaded = await loadConfig({ file: configFile, cwd: paths.root });
  // `service` is an instance key (api, api.2): its config is the service's.
  const name = serviceOfKey(service);
  if (!loaded.config.services[name]) throw new Error(`${name} is no longer in ${configFile}`);
  const ctx = { config: loaded.config, paths, serviceEnv: loaded.serviceEnv, configFile };
  return spawnSpec(ctx, colour, release, service, port).spec;
}

async function report(paths: ProjectPaths, watched: Map<string, Watched>, last: string): Promise<string> {
  const services: Record<string, SupervisedService> = {};
  for (const [k, w] of watched) {
    const t = w.tracker;
    services[k] = {
      colour: w.colour,
      service: w.service,
      release: w.release,
      pid: w.pid,
      restarts: t.restarts,
      degraded: t.degraded,
      state: w.given ? 'exited' : w.restartAt !== undefined ? 'restarting' : 'running',
      ...(t.lastExit
        ? { lastExit: { ...t.lastExit, at: new Date(t.lastExit.at).toISOString(), text: describeExit(t.lastExit) } }
        : {}),
      ...(w.restartAt !== undefined ? { nextRestart: new Date(w.restartAt).toISOString() } : {}),
      ...(w.given ? { note: w.given } : {}),
      ...(w.lastError ? { lastError: w.lastError } : {}),
    };
  }
  const text = JSON.stringify(services);
  if (text === last) return last;
  const r: SupervisorReport = { pid: process.pid, updatedAt: new Date().toISOString(), services };
  await writeJsonAtomic(paths.supervisorState, r).catch((e: unknown) => log(`report: ${errorMessage(e)}`));
  return text;
}
