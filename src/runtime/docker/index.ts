/**
 * The docker runtime: each instance of each service of a colour is a container built from a
 * release image (services.<name>.instances of them), shared services are long-lived containers
 * beside them, all on the app's network. The engine is reached lazily: creating the runtime (every
 * command does) never fails, the first call that needs Docker connects and reports an unreachable
 * engine clearly.
 */
import type Docker from 'dockerode';
import { instancesOf, parseInstanceKey } from '../../config/instances.js';
import type { Colour } from '../../config/schema.js';
import { plannedPorts } from '../process/port-memory.js';
import { containerTail, streamLogs } from './logs.js';
import { execInContainer } from './exec.js';
import { containerName } from './names.js';
import { SwitchyardError } from '../../errors.js';
import { groupByService } from '../endpoints.js';
import { readManifest } from '../release.js';
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
import { connect } from './client.js';
import { findContainers, listenHint, publishedPort, removeContainer } from './containers.js';
import { colourStatus } from './health.js';
import { imageExists, prepareImages } from './images.js';
import { pruneImages, releaseComplete } from './prune.js';
import { removeVolumes, sharedStatus, startShared, stopShared } from './shared.js';
import { runFrom, startColour } from './start.js';

/*
 * The Docker runtime's public face for the rest of switchyard: the runtime itself, and the engine
 * plumbing that the container backup (backup/pg-container.ts, pg_dump through `docker exec`) and
 * the backup wiring (run/backup.ts) share with it. Nothing outside runtime/docker/ imports its
 * inner files (scripts/check-layers.mjs checks it).
 */
export {
  API_TIMEOUT_MS,
  apiMessage,
  call,
  connect,
  isConnectError,
  statusOf,
  unreachable,
  withTimeout,
} from './client.js';
export { api, EXEC_MARKER, helperExec, sleep, stopMarked, targetOf } from './exec-control.js';
export { Collector, demuxStream, drained, endAndFlush } from './exec-streams.js';
export { sharedContainerName } from './names.js';
export { pushImage, type Pushed } from './push.js';
// The swarm runtime (runtime/swarm/) builds its release images as this runtime does, then pushes them.
export { prepareImages, removeTags } from './images.js';
export { LABEL, imageTag } from './names.js';
export { pruneImages } from './prune.js';
export { containerTail, streamLogs, type LogSource } from './logs.js';
export { sharedEnv, sharedImage } from './shared.js';
export { cmd, healthcheck, mounts } from './spec.js';

/** Used for a container of a service no longer in the config. */
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export function createDockerRuntime(ctx: RuntimeContext, env: NodeJS.ProcessEnv = process.env): Runtime {
  const { config } = ctx;
  let client: Promise<Docker> | undefined;
  const docker = (): Promise<Docker> => {
    // A failed connect is not cached: the next call (after the user started dockerd) tries again.
    client ??= connect(env).catch((e: unknown) => {
      client = undefined;
      throw e;
    });
    return client;
  };

  async function stop(colour: Colour, opts: StopOptions = {}): Promise<void> {
    const d = await docker();
    const found = await findContainers(d, config.app, 'colour', colour);
    const failed: string[] = [];
    await Promise.all(
      found.map(async (f) => {
        if (opts.signal?.aborted) {
          // A second Ctrl-C skips the grace period rather than leaving containers behind.
          await removeContainer(d, f.id, 0).catch(() => failed.push(f.name));
          return;
        }
        await removeContainer(d, f.id, config.services[f.service]?.stopTimeout ?? DEFAULT_STOP_TIMEOUT_MS).catch(() =>
          failed.push(f.name),
        );
      }),
    );
    if (failed.length > 0)
      throw new SwitchyardError('TIMEOUT', `could not stop ${colour}: ${failed.join(', ')}`, {
        hint: 'check the engine (`docker ps -a`) and remove them with `docker rm -f`',
      });
  }

  return {
    kind: 'docker',
    prepare: async (opts?: PrepareOptions): Promise<Release> => prepareImages(ctx, await docker(), opts),
    start: async (colour, release, opts) => {
      if (!(await readManifest(ctx.paths, release)))
        throw new SwitchyardError('START_FAILED', `release ${release} does not exist or is incomplete`, {
          hint: 'prepare a new release (deploy builds one)',
        });
      return startColour(ctx, await docker(), colour, release, () => stop(colour), opts?.signal);
    },
    current: async (colour): Promise<ColourRun | undefined> =>
      runFrom(colour, await findContainers(await docker(), config.app, 'colour', colour)),
    async status(colour): Promise<ServiceStatus[]> {
      return colourStatus(
        colour,
        instancesOf(config.services).map((i) => i.key),
        await findContainers(await docker(), config.app, 'colour', colour),
      );
    },
    stop,
    async endpoints(colour): Promise<ServiceEndpoints> {
      // Every container of the colour, in instance order: also one above a lowered `instances`
      // count, which runs (and is reachable) until stop(colour).
      const found = await findContainers(await docker(), config.app, 'colour', colour);
      return groupByService(
        found.flatMap((f) => {
          const port = publishedPort(f.info);
          return port === undefined ? [] : [[f.key, { host: LOOPBACK, port }]];
        }),
      );
    },
    async unreachableHint(colour): Promise<string | undefined> {
      const running = (await findContainers(await docker(), config.app, 'colour', colour)).filter(
        (f) => f.info.State?.Running,
      );
      return running.length === 0 ? undefined : listenHint(running);
    },
    async logs(colour, services, opts, write): Promise<void> {
      // Service names (every instance of each) or instance keys (that one).
      const found = (await findContainers(await docker(), config.app, 'colour', colour)).filter(
        (f) => services.includes(f.service) || services.includes(f.key),
      );
      if (found.length === 0)
        throw new SwitchyardError('USAGE', `${colour} has no containers for ${services.join(', ')}`, {
          hint: '`switchyard status` shows what runs',
        });
      await streamLogs(
        await docker(),
        found.map((f) => ({ id: f.id, label: f.key })),
        opts,
        write,
      );
    },
    async tail(colour, key, lines): Promise<string> {
      // An instance key: `api` is instance 1, `api.2` instance 2.
      const d = await docker();
      const found = (await findContainers(d, config.app, 'colour', colour)).find((f) => f.key === key);
      const text = found ? await containerTail(d, found.id, lines) : '';
      return ctx.redact ? ctx.redact(text) : text;
    },
    async plannedEndpoints(colour): Promise<ServiceEndpoints> {
      const instances = instancesOf(config.services);
      const ports = await plannedPorts(
        ctx.paths,
        colour,
        instances.map((i) => i.key),
      );
      return groupByService(instances.map((i) => [i.key, { host: LOOPBACK, port: ports[i.key]! }]));
    },
    pruneReleases: async (keep, protect) => pruneImages(ctx, await docker(), keep, protect),
    async hasRelease(id): Promise<boolean> {
      if (!(await readManifest(ctx.paths, id))) return false;
      const d = await docker();
      return releaseComplete(ctx, id, (tag) => imageExists(d, tag));
    },
    startShared: async (opts) => startShared(ctx, await docker(), opts?.signal),
    stopShared: async () => stopShared(ctx, await docker()),
    sharedStatus: async () => sharedStatus(ctx, await docker()),
    removeVolumes: async () => removeVolumes(ctx, await docker()),
    // Instance 1 of the service (the migrate hook runs once); an instance key (`api.2`) names another.
    exec: async (colour, service, command, opts) => {
      const { service: name, index } = parseInstanceKey(service);
      return execInContainer(await docker(), containerName(config.app, name, colour, index), command, opts);
    },
  };
}
