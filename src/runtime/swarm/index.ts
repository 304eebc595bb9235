import { instancesOf } from '../../config/instances.js';
import { SwitchyardError } from '../../errors.js';
import { readManifest } from '../release.js';
import type { ExecOutcome, Release, RuntimeContext, ServiceStatus } from '../types.js';
import { colourTasks } from './find.js';
import { prepareSwarmImages, pruneSwarmReleases, readSwarmImages, releasePushed } from './images.js';
import { removeColour, startColour, stopWaitMs } from './services.js';
import { runOf, statusRows } from './status.js';
import { swarmEdgeDriver } from './edge-driver.js';
import { swarmBackends, swarmEndpoints } from './endpoints.js';
import { SwarmSession, type SwarmSessionOptions } from './session.js';
import { sharedAddress, startSwarmShared, stopSwarmShared, swarmSharedStatus } from './shared.js';
import { swarmLogs, swarmTail } from './logs.js';
import { runOneOff } from './oneoff.js';
import type { RuntimeWithProxy } from '../own-proxy.js';
import type { ProxyDriver } from '../../proxy/types.js';

export { SWARM_IMAGES, readSwarmImages, type SwarmImages } from './images.js';

export type SwarmRuntimeOptions = SwarmSessionOptions;

export function createSwarmRuntime(ctx: RuntimeContext, opts: SwarmRuntimeOptions): RuntimeWithProxy {
  const { config } = ctx;
  const { manager, builder, registry } = opts;
  const session = new SwarmSession(config, opts);
  let driver: ProxyDriver | undefined;

  return {
    kind: 'swarm',
    prepare: (p): Promise<Release> => prepareSwarmImages(ctx, builder, registry, p),
    async start(colour, release, o) {
      const images = (await readManifest(ctx.paths, release)) ? await readSwarmImages(ctx.paths, release) : undefined;
      if (!images)
        throw new SwitchyardError('START_FAILED', `release ${release} does not exist or was not pushed to a registry`, {
          hint: 'prepare a new release (deploy builds and pushes one)',
        });
      return startColour(ctx, manager, {
        colour,
        release,
        images: images.images,
        constraints: opts.constraints ?? [],
        ...(o?.signal ? { signal: o.signal } : {}),
      });
    },
    current: async (colour) => runOf(colour, await colourTasks(manager, config.app, colour)),
    status: async (colour): Promise<ServiceStatus[]> =>
      statusRows(
        colour,
        instancesOf(config.services).map((i) => i.key),
        await colourTasks(manager, config.app, colour),
      ),
    stop: (colour, o) => removeColour(manager, config.app, colour, stopWaitMs(config), o?.signal),
    // The tasks are reachable only on the overlay network: this machine reaches them through the
    // tunnel, the edge proxies by their DNS name (endpoints.ts).
    endpoints: (colour) => swarmEndpoints(session, colour),
    plannedEndpoints: async (colour) => swarmBackends(config, colour),
    backends: async (colour) => swarmBackends(config, colour),
    proxyDriver: () => (driver ??= swarmEdgeDriver(ctx.paths, session)),
    close: () => session.close(),
    startShared: (o) => startSwarmShared(ctx, session, o?.signal),
    stopShared: () => stopSwarmShared(ctx, manager),
    sharedStatus: () => swarmSharedStatus(ctx, manager),
    sharedAddress: (name, port) => sharedAddress(session, name, port),
    async removeVolumes(): Promise<string[]> {
      // The manager cannot remove a volume on another node: say where and how, remove nothing.
      const where = Object.entries(config.shared).flatMap(([, s]) =>
        s.volumes.map((v) => `\`docker volume rm ${config.app}-${v.split(':')[0]}\` on ${s.node}`),
      );
      throw new SwitchyardError(
        'USAGE',
        'the shared services are stopped, but their volumes live on their nodes, out of reach of the manager',
        { hint: where.length > 0 ? `remove them there: ${where.join('; ')}` : 'there are none' },
      );
    },
    logs: (colour, services, o, write) => swarmLogs(manager, config, colour, services, o, write),
    tail: async (colour, key, lines) => {
      const text = await swarmTail(manager, config, colour, key, lines);
      return ctx.redact ? ctx.redact(text) : text;
    },
    // A one-off task of the colour service's spec: the manager cannot exec into another node's container.
    exec: async (colour, service, command, o): Promise<ExecOutcome> => {
      const { ok, detail } = await runOneOff(manager, {
        app: config.app,
        service,
        colour,
        command,
        ...(o?.env ? { env: o.env } : {}),
        ...(o?.signal ? { signal: o.signal } : {}),
        ...(ctx.log ? { log: ctx.log } : {}),
      });
      return { ok, detail };
    },
    async hasRelease(id) {
      return (
        (await readManifest(ctx.paths, id)) !== undefined &&
        (await releasePushed(ctx.paths, id, Object.keys(config.services)))
      );
    },
    pruneReleases: (keep, protect) => pruneSwarmReleases(ctx, manager, builder, registry, keep, protect),
  };
}
