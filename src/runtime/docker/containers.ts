/**
 * A colour's containers: one per instance of each service (services.<name>.instances),
 * `<app>-<service>-<colour>` for instance 1 and `<app>-<service>-<colour>-<N>` for the others,
 * labelled (switchyard.instance = N), on the app network under the alias `<service>-<colour>[-<N>]`,
 * with the container port published on a stable 127.0.0.1 port (remembered per colour and instance
 * key, `api`, `api.2`, in .switchyard/run/ports.json, like the process runtime). Docker itself is
 * the record of what runs: no run file can disagree with it.
 */
import type Docker from 'dockerode';
import type { Colour } from '../../config/schema.js';
import { instanceKey, instancesOf } from '../../config/instances.js';
import { SwitchyardError } from '../../errors.js';
import { stablePorts } from '../process/port-memory.js';
import { LOOPBACK } from '../ports.js';
import type { RuntimeContext } from '../types.js';
import { call, statusOf } from './client.js';
import { LABEL, containerName, imageTag, instanceOf, labelFilter, networkAlias, type Role } from './names.js';
import { cmd, ensureVolumes, healthcheck, logConfig, mounts, restartPolicy, seconds } from './spec.js';

export interface Found {
  id: string;
  name: string;
  service: string;
  /** 1-based (the switchyard.instance label; 1 for a container made before the label existed). */
  instance: number;
  /** The instance key (config/instances.ts): `api` for instance 1, `api.2` for instance 2. */
  key: string;
  release: string | undefined;
  info: Docker.ContainerInspectInfo;
}

/** The app's containers with the given role (and colour), inspected. Vanished ones are skipped. */
export async function findContainers(docker: Docker, app: string, role: Role, colour?: Colour): Promise<Found[]> {
  const list = await call('list containers', () =>
    docker.listContainers({ all: true, filters: labelFilter(app, { role, ...(colour ? { colour } : {}) }) }),
  );
  const out: Found[] = [];
  for (const c of list) {
    try {
      const info = await call(`inspect container ${c.Id.slice(0, 12)}`, () => docker.getContainer(c.Id).inspect());
      const service = c.Labels[LABEL.service] ?? '?';
      const instance = instanceOf(c.Labels);
      out.push({
        id: c.Id,
        name: info.Name.replace(/^\//, ''),
        service,
        instance,
        key: instanceKey(service, instance),
        release: c.Labels[LABEL.release],
        info,
      });
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
  }
  // By service, then instance: endpoints list instance 1 first, logs and runs read in a stable order.
  return out.sort((a, b) => (a.service === b.service ? a.instance - b.instance : a.service < b.service ? -1 : 1));
}

/** The host port the container's first published port is bound to, if any. */
export function publishedPort(info: Docker.ContainerInspectInfo): number | undefined {
  const bindings = info.HostConfig?.PortBindings as Record<string, { HostPort?: string }[] | null> | undefined;
  for (const list of Object.values(bindings ?? {})) {
    const p = Number(list?.[0]?.HostPort);
    if (Number.isInteger(p) && p > 0) return p;
  }
  return undefined;
}

/** Stops (SIGTERM, then SIGKILL after `stopMs`) and removes one container; a missing one is fine. */
export async function removeContainer(docker: Docker, id: string, stopMs: number): Promise<void> {
  const c = docker.getContainer(id);
  try {
    // The engine itself kills after t seconds; our bound only guards against a hung engine.
    await call(`stop container ${id.slice(0, 12)}`, () => c.stop({ t: seconds(stopMs) }), stopMs + 30_000);
  } catch (e) {
    const s = statusOf(e);
    if (s !== 304 && s !== 404) throw e;
  }
  try {
    await call(`remove container ${id.slice(0, 12)}`, () => c.remove({ force: true, v: true }));
  } catch (e) {
    // 409: removal already in progress (another stop).
    if (statusOf(e) !== 404 && statusOf(e) !== 409) throw e;
  }
}

/**
 * HOST=0.0.0.0 unless the image sets HOST itself (the config's env wins over both). Inside a
 * container the app must listen on every interface: the published port reaches it on the
 * container's own address, never on its loopback, so the process runtime's 127.0.0.1 would make
 * the app unreachable (the most common mistake of an app moved into Docker).
 */
async function hostDefault(docker: Docker, image: string): Promise<Record<string, string>> {
  const info = await call(`inspect image ${image}`, () => docker.getImage(image).inspect());
  return (info.Config?.Env ?? []).some((v) => v.startsWith('HOST=')) ? {} : { HOST: '0.0.0.0' };
}

/**
 * Containers that run while their published ports refuse or reset connections: docker's port
 * forwarder reaches the container's address, where nothing listens when the app bound 127.0.0.1.
 */
export function listenHint(running: Found[]): string {
  const hosts = running.map((f) => {
    const host = (f.info.Config?.Env ?? []).find((v) => v.startsWith('HOST='))?.slice('HOST='.length);
    return `${f.name} (HOST=${host ?? 'unset'})`;
  });
  return (
    `${hosts.join(', ')} ${running.length === 1 ? 'runs' : 'run'}` +
    `, yet a published port refused or reset the connection: ` +
    'an app inside a container must listen on 0.0.0.0 (every interface), not 127.0.0.1 or localhost. ' +
    'Check the address its server binds to' +
    ' (it should honour HOST; set it in services.<name>.env if the image needs another value)'
  );
}

/**
 * Host ports for the colour's service instances, by instance key: remembered ones when free, new
 * ones otherwise. Instance 1's key is the service name, so it keeps the port it had before instances.
 */
export async function assignHostPorts(ctx: RuntimeContext, colour: Colour): Promise<Record<string, number>> {
  const keys = instancesOf(ctx.config.services).map((i) => i.key);
  return stablePorts(ctx.paths, colour, keys, new Set());
}

export async function createServiceContainer(
  ctx: RuntimeContext,
  docker: Docker,
  o: { colour: Colour; release: string; service: string; instance: number; hostPort: number; network: string },
): Promise<Docker.Container> {
  const { config, paths } = ctx;
  const name = containerName(config.app, o.service, o.colour, o.instance);
  const svc = config.services[o.service]!;
  const containerPort = `${svc.containerPort ?? 80}/tcp`;
  const m = mounts(config.app, paths.root, svc.volumes);
  await ensureVolumes(docker, config.app, m.volumes);
  const image = imageTag(config.app, o.service, o.release);
  const env = {
    ...(await hostDefault(docker, image)),
    ...(ctx.serviceEnv[o.service] ?? {}),
    // PORT: the container port, which is what the app must listen on (images often default it).
    PORT: String(svc.containerPort ?? 80),
    ENVIRONMENT_NAME: o.colour,
    SWITCHYARD_COLOUR: o.colour,
    SWITCHYARD_RELEASE: o.release,
    SWITCHYARD_INSTANCE: String(o.instance),
  };
  const command = cmd(svc.command);
  const hc = healthcheck(svc.healthcheck);
  try {
    return await call(`create container ${name}`, () =>
      docker.createContainer({
        name,
        Image: image,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        ...(command ? { Cmd: command } : {}),
        ...(hc ? { Healthcheck: hc } : {}),
        Labels: {
          [LABEL.app]: config.app,
          [LABEL.service]: o.service,
          [LABEL.colour]: o.colour,
          [LABEL.release]: o.release,
          [LABEL.role]: 'colour',
          [LABEL.instance]: String(o.instance),
        },
        ExposedPorts: { [containerPort]: {} },
        StopTimeout: seconds(svc.stopTimeout),
        HostConfig: {
          // Loopback only: the proxy is the public entry, a colour is never reachable from outside.
          PortBindings: { [containerPort]: [{ HostIp: LOOPBACK, HostPort: String(o.hostPort) }] },
          RestartPolicy: restartPolicy(svc.restart),
          LogConfig: logConfig(config.logs),
          Binds: m.binds,
          NetworkMode: o.network,
          Init: false,
        },
        NetworkingConfig: {
          EndpointsConfig: { [o.network]: { Aliases: [networkAlias(o.service, o.colour, o.instance)] } },
        },
      }),
    );
  } catch (e) {
    if (statusOf(e) === 404) {
      throw new SwitchyardError(
        'START_FAILED',
        `image ${imageTag(config.app, o.service, o.release)} of release ${o.release} is gone`,
        { hint: 'deploy a new release (its images were pruned or removed)', cause: e },
      );
    }
    if (statusOf(e) === 409) {
      throw new SwitchyardError('START_FAILED', `a container named ${name} already exists`, {
        hint: `remove it (\`docker rm -f ${name}\`) if it is not switchyard's`,
        cause: e,
      });
    }
    throw e;
  }
}
