/**
 * Shared services (the database): one container each, `<app>-<name>`, on the app network under
 * the alias `<name>`, with named volumes. startShared() creates or starts them and waits until
 * they run (and are healthy where a HEALTHCHECK exists); stop(colour) never touches them.
 */
import path from 'node:path';
import type Docker from 'dockerode';
import type { SharedConfig } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { readEnvFile } from './envfile.js';
import type { RuntimeContext, ServiceStatus } from '../types.js';
import { buildImage } from './build.js';
import { call, statusOf } from './client.js';
import { findContainers, removeContainer } from './containers.js';
import { containerStatus } from './health.js';
import { imageExists, resolveBuild } from './images.js';
import { containerTail } from './logs.js';
import { LABEL, sharedContainerName, sharedImageTag } from './names.js';
import { ensureNetwork } from './network.js';
import { indent } from '../../util/indent.js';
import { cmd, ensureVolumes, healthcheck, logConfig, mounts, publishSpec, restartPolicy, seconds } from './spec.js';
import { sleep } from '../../util/sleep.js';

const POLL_MS = 250;

/** The shared service's image on this engine: `image` as given, or built once into `<app>-<name>:shared`. */
export async function sharedImage(
  ctx: RuntimeContext,
  docker: Docker,
  name: string,
  s: SharedConfig,
  signal?: AbortSignal,
): Promise<string> {
  if (s.image !== undefined) {
    if (!(await imageExists(docker, s.image)))
      throw new SwitchyardError(
        'BUILD_FAILED',
        `image ${s.image} of shared service ${name} is not on this Docker engine`,
        { hint: `build or load it first, or give shared.${name}.build` },
      );
    return s.image;
  }
  const tag = sharedImageTag(ctx.config.app, name);
  // Built once: rebuilding the database image on every init is slow and buys nothing.
  if (await imageExists(docker, tag)) return tag;
  const b = resolveBuild(ctx.paths.root, typeof s.build === 'string' ? { context: s.build, args: {} } : s.build!);
  await buildImage(docker, {
    what: name,
    context: b.context,
    dockerfile: b.dockerfile,
    tag,
    args: b.args,
    labels: { [LABEL.app]: ctx.config.app, [LABEL.service]: name, [LABEL.role]: 'shared' },
    exclude: ctx.config.deploy.exclude,
    stateDir: ctx.paths.dir,
    logFile: path.join(ctx.paths.logs, 'builds', `shared-${name}.log`),
    timeoutMs: 600_000,
    ...(signal ? { signal } : {}),
    redact: ctx.redact ?? ((t) => t),
  });
  return tag;
}

/** The shared service's environment: its env_file's values, then `environment` over them. */
export function sharedEnv(ctx: RuntimeContext, s: SharedConfig): Record<string, string> {
  return { ...(s.env_file ? readEnvFile(path.resolve(ctx.paths.root, s.env_file)) : {}), ...s.environment };
}

async function createShared(
  ctx: RuntimeContext,
  docker: Docker,
  name: string,
  s: SharedConfig,
  network: string,
  signal?: AbortSignal,
): Promise<string> {
  const app = ctx.config.app;
  const image = await sharedImage(ctx, docker, name, s, signal);
  const m = mounts(app, ctx.paths.root, s.volumes);
  await ensureVolumes(docker, app, m.volumes);
  const env = sharedEnv(ctx, s);
  const published = s.ports.map(publishSpec);
  const command = cmd(s.command);
  const hc = healthcheck(s.healthcheck);
  const c = await call(`create ${sharedContainerName(app, name)}`, () =>
    docker.createContainer({
      name: sharedContainerName(app, name),
      Image: image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...(command ? { Cmd: command } : {}),
      ...(hc ? { Healthcheck: hc } : {}),
      Labels: { [LABEL.app]: app, [LABEL.service]: name, [LABEL.role]: 'shared' },
      ExposedPorts: Object.fromEntries(published.map((p) => [p.containerPort, {}])),
      StopTimeout: seconds(s.stopTimeout),
      HostConfig: {
        PortBindings: Object.fromEntries(
          published.map((p) => [p.containerPort, [{ HostIp: p.hostIp, HostPort: p.hostPort }]]),
        ),
        RestartPolicy: restartPolicy(s.restart),
        LogConfig: logConfig(ctx.config.logs),
        Binds: m.binds,
        NetworkMode: network,
      },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [name] } } },
    }),
  );
  return c.id;
}

/** Waits until the container runs and, with a HEALTHCHECK, is healthy; fails fast when it exits. */
async function waitReady(
  ctx: RuntimeContext,
  docker: Docker,
  name: string,
  id: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<string> {
  const t0 = performance.now();
  for (;;) {
    const info = await call('inspect', () => docker.getContainer(id).inspect());
    const health = info.State.Health?.Status;
    if (info.State.Running && !info.State.Restarting && (health === undefined || health === 'healthy'))
      return health === 'healthy' ? 'healthy' : 'running';
    const failed = !info.State.Running || info.State.Restarting || health === 'unhealthy';
    if (failed || performance.now() - t0 > timeoutMs || signal?.aborted) {
      const st = containerStatus(
        name,
        {
          id,
          name: sharedContainerName(ctx.config.app, name),
          service: name,
          instance: 1,
          key: name,
          release: undefined,
          info,
        },
        'shared',
      );
      const tail = (ctx.redact ?? ((t: string) => t))(await containerTail(docker, id));
      const why = failed ? st.detail : `not ready within ${Math.round(timeoutMs / 1000)} s (${st.detail})`;
      throw new SwitchyardError(
        signal?.aborted ? 'ABORTED' : 'START_FAILED',
        `shared service ${name}: ${why}\n${indent(tail)}`,
        { hint: `see \`docker logs ${sharedContainerName(ctx.config.app, name)}\`` },
      );
    }
    await sleep(POLL_MS);
  }
}

export async function startShared(ctx: RuntimeContext, docker: Docker, signal?: AbortSignal): Promise<string[]> {
  const shared = Object.entries(ctx.config.shared);
  if (shared.length === 0) return [];
  const network = await ensureNetwork(docker, ctx.config.app);
  const existing = new Map((await findContainers(docker, ctx.config.app, 'shared')).map((f) => [f.service, f]));
  const out: string[] = [];
  for (const [name, s] of shared) {
    const t0 = performance.now();
    const found = existing.get(name);
    let id: string;
    let what: string;
    if (found?.info.State.Running) [id, what] = [found.id, 'already running'];
    else if (found) {
      await call(`start ${found.name}`, () => docker.getContainer(found.id).start()).catch((e) => {
        if (statusOf(e) !== 304) throw e;
      });
      [id, what] = [found.id, 'started'];
    } else {
      id = await createShared(ctx, docker, name, s, network, signal);
      await call(`start ${name}`, () => docker.getContainer(id).start());
      what = 'created';
    }
    const ready = await waitReady(ctx, docker, name, id, s.startTimeout, signal);
    out.push(`${name}: ${what}, ${ready} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return out;
}

/** Stops and removes the shared containers; their named volumes (the data) stay. */
export async function stopShared(ctx: RuntimeContext, docker: Docker): Promise<void> {
  for (const f of await findContainers(docker, ctx.config.app, 'shared')) {
    await removeContainer(docker, f.id, ctx.config.shared[f.service]?.stopTimeout ?? 30_000);
  }
}

export async function sharedStatus(ctx: RuntimeContext, docker: Docker): Promise<ServiceStatus[]> {
  const found = new Map((await findContainers(docker, ctx.config.app, 'shared')).map((f) => [f.service, f]));
  const names = [...new Set([...Object.keys(ctx.config.shared), ...found.keys()])];
  return names.map((n) => containerStatus(n, found.get(n), 'shared service not started'));
}

/** `down --volumes`: deletes the app's named volumes (labelled by switchyard), i.e. its data. */
export async function removeVolumes(ctx: RuntimeContext, docker: Docker): Promise<string[]> {
  const list = await call('list volumes', () =>
    docker.listVolumes({ filters: JSON.stringify({ label: [`${LABEL.app}=${ctx.config.app}`] }) }),
  );
  const names = (list.Volumes ?? []).map((v) => v.Name);
  for (const name of names) await call(`remove volume ${name}`, () => docker.getVolume(name).remove());
  return names;
}
