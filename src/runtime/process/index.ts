/**
 * The process runtime: each service of a colour is a detached local process started from an
 * immutable release snapshot. See prepare.ts, start.ts and stop.ts for the three hard parts.
 */
import { COLOURS, type Colour } from '../../config/schema.js';
import { withColourLock } from './colour-lock.js';
import { ensureSupervisor, stopSupervisor, supervisorPid } from '../supervisor-pid.js';
import { supervisedStatus } from './supervised-status.js';
import { plannedPorts } from './port-memory.js';
import { SwitchyardError } from '../../errors.js';
import { hasRelease, pruneReleases } from '../release.js';
import { LOOPBACK } from '../ports.js';
import type {
  ColourRun,
  PrepareOptions,
  Release,
  Runtime,
  RuntimeContext,
  ServiceEndpoints,
  ServiceStatus,
  StopOptions,
} from '../types.js';
import { prepareRelease } from './prepare.js';
import { liveness } from '../../util/procinfo.js';
import { readRun, removeRun } from './runfile.js';
import { startColour } from './start.js';
import { stopProcess } from './stop.js';
import { execInRelease } from './exec.js';
import { tailLog } from './logs.js';
import { fixedPorts, instancesOf, serviceOfKey } from '../../config/instances.js';
import { groupByService } from '../endpoints.js';

/** How long start and stop wait for the supervisor to finish a restart of the same colour. */
const LOCK_WAIT_MS = 30_000;

/** Used for a service in a run file that is no longer in the config. */
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export function createProcessRuntime(ctx: RuntimeContext): Runtime {
  const { paths, config } = ctx;

  async function stop(colour: Colour, opts: StopOptions = {}): Promise<void> {
    await withColourLock(paths, colour, LOCK_WAIT_MS, () => stopHeld(colour, opts));
    // Nothing left to supervise: the supervisor goes with the last colour (down, a failed init).
    if (!(await anyStarted())) await stopSupervisor(paths);
  }

  async function anyStarted(): Promise<boolean> {
    const runs = await Promise.all(COLOURS.map((c) => readRun(paths, c).catch(() => undefined)));
    return runs.some((r) => r !== undefined);
  }

  async function stopHeld(colour: Colour, opts: StopOptions): Promise<void> {
    const run = await readRun(paths, colour);
    if (!run) return;
    const stuck: string[] = [];
    await Promise.all(
      Object.entries(run.services).map(async ([name, s]) => {
        const timeout = config.services[serviceOfKey(name)]?.stopTimeout ?? DEFAULT_STOP_TIMEOUT_MS;
        const outcome = await stopProcess(s, timeout, opts.signal);
        if (outcome === 'reused')
          ctx.log?.(`${name} (${colour}): pid ${s.pid} now belongs to another process; not signalled`);
        if (outcome === 'killed') ctx.log?.(`${name} (${colour}): did not stop within ${timeout}ms of SIGTERM; killed`);
        if (outcome === 'stuck') stuck.push(`${name} (pid ${s.pid})`);
      }),
    );
    if (stuck.length > 0) {
      // Keep the run file: it is the only record of processes we still own.
      throw new SwitchyardError('TIMEOUT', `could not stop ${colour}: ${stuck.join(', ')} survived SIGKILL`, {
        hint: 'the process may be stuck in the kernel (D state); check `ps -o pid,stat,cmd -p PID`',
      });
    }
    await removeRun(paths, colour);
  }

  async function plainStatus(colour: Colour, run: ColourRun | undefined): Promise<ServiceStatus[]> {
    // Every configured instance, and anything else the run file names (instances a config lowered since).
    const names = [
      ...new Set([...instancesOf(config.services).map((u) => u.key), ...Object.keys(run?.services ?? {})]),
    ];
    return Promise.all(
      names.map(async (service): Promise<ServiceStatus> => {
        const s = run?.services[service];
        if (!s)
          return {
            service,
            running: false,
            detail: run ? `not in the ${colour} run record` : `${colour} is not started`,
          };
        const l = await liveness(s.pid, s.startTicks);
        const base = { service, pid: s.pid, port: s.port };
        if (l === 'running')
          return { ...base, running: true, detail: `pid ${s.pid} on ${LOOPBACK}:${s.port}, release ${run.release}` };
        if (l === 'reused')
          return { ...base, running: false, detail: `exited (pid ${s.pid} now belongs to another process)` };
        return { ...base, running: false, detail: `exited (pid ${s.pid}); see ${paths.serviceLog(colour, service)}` };
      }),
    );
  }

  return {
    kind: 'process',
    prepare: (opts?: PrepareOptions): Promise<Release> => prepareRelease(ctx, opts),
    async start(colour, release, opts) {
      const run = await withColourLock(paths, colour, LOCK_WAIT_MS, () =>
        startColour(ctx, colour, release, () => stopHeld(colour, {}), opts?.signal),
      );
      // From here on an exited process is started again (services.<name>.restart).
      await ensureSupervisor(paths, ctx.configFile);
      return run!;
    },
    async supervise(): Promise<string | undefined> {
      if (!(await anyStarted()) || (await supervisorPid(paths)) !== undefined) return undefined;
      return `the supervisor was not running: started it (pid ${await ensureSupervisor(paths, ctx.configFile)})`;
    },
    current: (colour): Promise<ColourRun | undefined> => readRun(paths, colour),
    async status(colour): Promise<ServiceStatus[]> {
      const run = await readRun(paths, colour);
      return supervisedStatus(paths, colour, run, await plainStatus(colour, run));
    },
    stop,
    async endpoints(colour): Promise<ServiceEndpoints> {
      const run = await readRun(paths, colour);
      return groupByService(
        Object.entries(run?.services ?? {}).map(([key, s]) => [key, { host: LOOPBACK, port: s.port }]),
      );
    },
    async plannedEndpoints(colour): Promise<ServiceEndpoints> {
      const fixed = fixedPorts(config.services, colour);
      const free = instancesOf(config.services)
        .filter((u) => !config.services[u.service]!.port)
        .map((u) => u.key);
      const ports = {
        ...Object.fromEntries(fixed.map((u) => [u.key, u.port])),
        ...(await plannedPorts(paths, colour, free)),
      };
      return groupByService(Object.entries(ports).map(([key, port]) => [key, { host: LOOPBACK, port }]));
    },
    async pruneReleases(keep, protect): Promise<string[]> {
      // Whatever a colour is running from stays, even if the caller forgot to protect it.
      const running = await Promise.all(
        (['blue', 'green'] as const).map((c) => readRun(paths, c).catch(() => undefined)),
      );
      const inUse = running.flatMap((r) => (r ? [r.release] : []));
      return pruneReleases(paths, keep, [...protect, ...inUse], Object.keys(config.services));
    },
    hasRelease: (id) => hasRelease(paths, id),
    exec: (colour, service, command, opts) => execInRelease(ctx, colour, service, command, opts),
    async tail(colour, service, lines): Promise<string> {
      // From the last start by a command on (its `--- switchyard: start ...` header): what the
      // release printed then, and any restart by the supervisor since, whose own header differs.
      const all = (await tailLog(paths.serviceLog(colour, service), 0, lines)).split('\n');
      const last = all.map((l) => l.startsWith('--- switchyard: start ')).lastIndexOf(true);
      const text = all.slice(Math.max(last, 0)).join('\n');
      return ctx.redact ? ctx.redact(text) : text;
    },
  };
}
