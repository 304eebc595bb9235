/**
 * Starting and stopping a colour on the swarm: one service per configured service
 * (colourServiceSpec: `instances` replicas of the release's pinned image on the project overlay),
 * created together, then waited for until every replica runs (waitForTasks: a failed, rejected or
 * unplaceable task ends the wait at once with the engine's words). A colour whose services already
 * run is refused; a failed start removes what it created. Stopping removes the colour's services
 * (found by label) and waits, bounded, until the manager has no task of them left: a task leaves
 * the manager's list once its node reported its container stopped. The node then removes the
 * stopped container by itself, a second or two later; the manager's API cannot show that last step
 * (the workers' engines are not reachable from here), so stop returns with every container stopped.
 */
import type Docker from 'dockerode';
import type { Colour, Config } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { sleep } from '../../util/sleep.js';
import { apiMessage, statusOf } from '../docker/index.js';
import type { ColourRun, RuntimeContext } from '../types.js';
import { managerCall } from './client.js';
import { colourTasks, findServices } from './find.js';
import { ensureOverlay } from './network.js';
import { removeOneOffs } from './oneoff.js';
import { colourServiceSpec, type ColourServiceInput } from './spec.js';
import { runOf } from './status.js';
import { TASK_POLL_MS, waitForTasks } from './tasks.js';

/** The least a start waits for its tasks (pulling an image onto a node is part of it). */
export const MIN_START_WAIT_MS = 120_000;
/** The least a stop waits for the tasks to go (beyond the longest stopTimeout). */
export const MIN_STOP_WAIT_MS = 60_000;

export interface StartInput {
  colour: Colour;
  release: string;
  /** Service -> pinned image (swarm-images.json). */
  images: Record<string, string>;
  constraints: string[];
  signal?: AbortSignal;
}

type Svc = Config['services'][string];

function healthcheck(svc: Svc): ColourServiceInput['healthcheck'] {
  const h = svc.healthcheck;
  if (!h) return undefined;
  return {
    test: h.test,
    ...(h.interval !== undefined ? { intervalMs: h.interval } : {}),
    ...(h.timeout !== undefined ? { timeoutMs: h.timeout } : {}),
    ...(h.startPeriod !== undefined ? { startPeriodMs: h.startPeriod } : {}),
    ...(h.retries !== undefined ? { retries: h.retries } : {}),
  };
}

/** `services.<name>.command` as arguments: a string is split on whitespace (no shell), as in the Docker runtime. */
function argv(command: Svc['command']): string[] {
  return Array.isArray(command) ? command : command.split(/\s+/).filter((w) => w.length > 0);
}

/** How long stop waits for the colour's tasks: the longest stopTimeout plus 30 s, at least a minute. */
export const stopWaitMs = (config: Config): number =>
  Math.max(MIN_STOP_WAIT_MS, ...Object.values(config.services).map((s) => s.stopTimeout + 30_000));

/**
 * Removes the colour's services and waits until the manager lists none of their tasks (each node
 * stopped its containers, and removes them right after). Idempotent. Without waiting when `signal`
 * is aborted.
 */
export async function removeColour(
  manager: Docker,
  app: string,
  colour: Colour,
  waitMs: number,
  signal?: AbortSignal,
): Promise<void> {
  await removeOneOffs(manager, app, colour);
  const found = await findServices(manager, app, colour);
  if (found.length === 0) return;
  // The tasks to wait for, listed before their services go (a removed service's tasks cannot be
  // asked for by service); a service removed meanwhile has none to add.
  const taskIds: string[] = [];
  for (const s of found) {
    try {
      const tasks = (await managerCall(manager, `list tasks of ${s.name}`, () =>
        manager.listTasks({ filters: { service: [s.id] } }),
      )) as { ID: string }[];
      taskIds.push(...tasks.map((t) => t.ID));
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }
  for (const s of found) {
    try {
      await managerCall(manager, `remove service ${s.name}`, () => manager.getService(s.id).remove());
    } catch (e) {
      if (statusOf(e) !== 404)
        throw new SwitchyardError('TIMEOUT', `could not stop ${colour}: removing ${s.name} failed: ${apiMessage(e)}`, {
          cause: e,
          hint: `remove it on the manager (\`docker service rm ${s.name}\`)`,
        });
    }
  }
  if (taskIds.length === 0 || signal?.aborted) return;
  const deadline = performance.now() + waitMs;
  for (;;) {
    const left = (await managerCall(manager, 'list tasks', () => manager.listTasks({ filters: { id: taskIds } }))) as {
      ID: string;
    }[];
    const ours = left.filter((t) => taskIds.includes(t.ID));
    if (ours.length === 0) return;
    if (signal?.aborted) return;
    if (performance.now() >= deadline)
      throw new SwitchyardError(
        'TIMEOUT',
        `could not stop ${colour}: ${ours.length} task(s) of ${found.map((s) => s.name).join(', ')} ` +
          `still on the nodes after ${Math.round(waitMs / 1000)} s`,
        { hint: 'check the nodes (`docker node ls`, `docker ps` on each) and remove their containers' },
      );
    await sleep(TASK_POLL_MS * 2);
  }
}

/** Every configured service of the release as the colour's swarm services; the running run, keyed by instance. */
export async function startColour(ctx: RuntimeContext, manager: Docker, i: StartInput): Promise<ColourRun> {
  const { config } = ctx;
  const { colour, release } = i;
  const redact = ctx.redact ?? ((t: string) => t);
  const stopAll = () => removeColour(manager, config.app, colour, stopWaitMs(config));

  const missing = Object.keys(config.services).filter((s) => i.images[s] === undefined);
  if (missing.length > 0)
    throw new SwitchyardError('START_FAILED', `release ${release} has no pushed image for ${missing.join(', ')}`, {
      hint: 'prepare a new release (deploy builds and pushes one)',
    });

  const existing = await colourTasks(manager, config.app, colour);
  const live = existing.find((s) => s.tasks.some((t) => t.desired === 'running' && t.state === 'running'));
  if (live)
    throw new SwitchyardError(
      'START_FAILED',
      `${colour} is already running (${live.name}, release ${live.release ?? '?'})`,
      {
        hint: `stop ${colour} first`,
      },
    );
  // Services of the colour with nothing running (all their tasks failed): left over, removed.
  if (existing.length > 0) await stopAll();

  const network = await ensureOverlay(manager, config.app);
  const made: { name: string; replicas: number }[] = [];
  try {
    for (const [name, svc] of Object.entries(config.services)) {
      if (i.signal?.aborted) throw new SwitchyardError('ABORTED', `starting ${colour} interrupted`);
      const hc = healthcheck(svc);
      const command = argv(svc.command);
      const spec = colourServiceSpec({
        app: config.app,
        service: name,
        colour,
        release,
        image: i.images[name]!,
        replicas: svc.instances,
        network,
        env: ctx.serviceEnv[name] ?? {},
        containerPort: svc.containerPort ?? 80,
        stopTimeoutMs: svc.stopTimeout,
        restart: svc.restart,
        constraints: i.constraints,
        ...(hc ? { healthcheck: hc } : {}),
        ...(command.length > 0 ? { command } : {}),
      });
      try {
        await managerCall(manager, `create service ${spec.Name}`, () => manager.createService(spec));
      } catch (e) {
        if (e instanceof SwitchyardError) throw e;
        throw new SwitchyardError('START_FAILED', `could not create ${spec.Name}: ${redact(apiMessage(e))}`, {
          cause: e,
        });
      }
      made.push({ name: spec.Name!, replicas: svc.instances });
    }
    await waitAll(ctx, manager, made, i.signal);
  } catch (e) {
    await stopAll().catch(() => undefined);
    throw e;
  }
  const run = runOf(colour, await colourTasks(manager, config.app, colour));
  if (!run) throw new SwitchyardError('START_FAILED', `${colour}'s services vanished right after starting`);
  return run;
}

/**
 * Waits for every service's replicas together; the first failure stops the other waits and is the
 * one reported.
 */
async function waitAll(
  ctx: RuntimeContext,
  manager: Docker,
  made: { name: string; replicas: number }[],
  signal?: AbortSignal,
): Promise<void> {
  const stop = new AbortController();
  const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const timeoutMs = Math.max(ctx.config.checks.timeout, MIN_START_WAIT_MS);
  let first: unknown;
  await Promise.all(
    made.map(async ({ name, replicas }) => {
      try {
        // Every task of a service made just now is this start's: `since` 0 counts all their failures.
        await waitForTasks(manager, name, { replicas, timeoutMs, since: 0, signal: both });
      } catch (e) {
        first ??= e;
        stop.abort();
      }
    }),
  );
  if (first !== undefined) throw first;
}
