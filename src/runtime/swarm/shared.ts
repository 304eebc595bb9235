/**
 * Shared services on a swarm (the database; docs/swarm.md): each is a Swarm service `<app>_<name>`
 * of one replica, pinned to its node (`shared.<name>.node`) with its named volumes, which live on
 * that node, on the project's overlay network under the alias `<name>` (the colours reach `db:5432`
 * as with the Docker runtime). Its image is built here once, pushed and pinned by digest. With a
 * health check, Swarm reports the task running only once it is healthy, so the wait is on the task.
 * Never stopped by deploy or rollback; `down` removes the service and leaves the volume.
 */
import type Docker from 'dockerode';
import type { SharedConfig } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { cmd, healthcheck, mounts, pushImage, sharedEnv, sharedImage, statusOf } from '../docker/index.js';
import { LABEL } from '../docker/index.js';
import type { Endpoint, RuntimeContext, ServiceStatus } from '../types.js';
import { managerCall } from './client.js';
import { describeTask } from './status.js';
import { serviceTasks, waitForTasks, type TaskView } from './tasks.js';
import type { SwarmSession } from './session.js';

export const sharedServiceName = (app: string, name: string): string => `${app}_${name}`;

/** `no` and `never` mean none; the others restart it (Swarm has no unless-stopped). */
const condition = (r: SharedConfig['restart']): 'none' | 'on-failure' | 'any' =>
  r === 'no' || r === 'never' ? 'none' : r === 'on-failure' ? 'on-failure' : 'any';

export function sharedServiceSpec(
  app: string,
  name: string,
  s: SharedConfig,
  o: { image: string; network: string; env: Record<string, string>; projectDir: string },
): Docker.CreateServiceOptions {
  const labels = { [LABEL.app]: app, [LABEL.service]: name, [LABEL.role]: 'shared' };
  const command = cmd(s.command);
  const hc = healthcheck(s.healthcheck);
  // Named volumes only (swarm-rules.ts): `<app>-<volume>`, as the Docker runtime names them.
  const volumes = mounts(app, o.projectDir, s.volumes).binds.map((b) => {
    const [source = '', target = '', mode] = b.split(':');
    return { Type: 'volume' as const, Source: source, Target: target, ReadOnly: mode === 'ro' };
  });
  return {
    Name: sharedServiceName(app, name),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: o.image,
        Labels: labels,
        ...(command ? { Args: command } : {}),
        Env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`),
        Mounts: volumes,
        StopGracePeriod: s.stopTimeout * 1e6,
        ...(hc ? { HealthCheck: hc } : {}),
      },
      RestartPolicy: { Condition: condition(s.restart), Delay: 1e9 },
      Placement: { Constraints: [`node.hostname==${s.node}`] },
      Networks: [{ Target: o.network, Aliases: [name] }],
    },
    Mode: { Replicated: { Replicas: 1 } },
    // One task holds the volume: the old one stops before a new one starts.
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}

async function exists(manager: Docker, service: string): Promise<boolean> {
  try {
    await managerCall(manager, `inspect ${service}`, () => manager.getService(service).inspect());
    return true;
  } catch (e) {
    if (statusOf(e) === 404) return false;
    throw e;
  }
}

export async function startSwarmShared(ctx: RuntimeContext, s: SwarmSession, signal?: AbortSignal): Promise<string[]> {
  const { config } = ctx;
  const shared = Object.entries(config.shared);
  if (shared.length === 0) return [];
  const network = await s.network();
  const out: string[] = [];
  for (const [name, svc] of shared) {
    const t0 = performance.now();
    const service = sharedServiceName(config.app, name);
    const since = Date.now() - 2_000;
    let what = 'already running';
    if (!(await exists(s.manager, service))) {
      const local = await sharedImage(ctx, s.opts.builder, name, svc, signal);
      const pushed = await pushImage(s.opts.builder, local, s.opts.registry, signal ? { signal } : {});
      const spec = sharedServiceSpec(config.app, name, svc, {
        image: pushed.pinned,
        network,
        env: sharedEnv(ctx, svc),
        projectDir: ctx.paths.root,
      });
      await managerCall(s.manager, `create service ${service}`, () => s.manager.createService(spec));
      what = `created on ${svc.node}`;
    }
    await waitForTasks(s.manager, service, {
      replicas: 1,
      timeoutMs: svc.startTimeout,
      since,
      ...(signal ? { signal } : {}),
    });
    out.push(`${name}: ${what}, running (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  return out;
}

/** Removes the shared services (their volumes, the data, stay on their nodes). */
export async function stopSwarmShared(ctx: RuntimeContext, manager: Docker): Promise<void> {
  for (const name of Object.keys(ctx.config.shared)) {
    const service = sharedServiceName(ctx.config.app, name);
    await managerCall(manager, `remove service ${service}`, () => manager.getService(service).remove()).catch((e) => {
      if (statusOf(e) !== 404) throw e;
    });
  }
}

/** The running task of a shared service, or why there is none. */
async function current(manager: Docker, service: string): Promise<TaskView | string> {
  let tasks: TaskView[];
  try {
    tasks = await managerCall(manager, `list tasks of ${service}`, () => serviceTasks(manager, service));
  } catch (e) {
    if (statusOf(e) === 404) return 'shared service not started';
    throw e;
  }
  const live = tasks.filter((t) => t.desired === 'running').sort((a, b) => b.createdAt - a.createdAt)[0];
  return live ?? 'no task meant to run';
}

export async function swarmSharedStatus(ctx: RuntimeContext, manager: Docker): Promise<ServiceStatus[]> {
  return Promise.all(
    Object.keys(ctx.config.shared).map(async (name) => {
      const t = await current(manager, sharedServiceName(ctx.config.app, name));
      if (typeof t === 'string') return { service: name, running: false, detail: t };
      return { service: name, running: t.state === 'running', detail: describeTask(t) };
    }),
  );
}

/** A loopback address that reaches the shared service's task on `port`, through the tunnel (backups). */
export async function sharedAddress(s: SwarmSession, name: string, port: number): Promise<Endpoint> {
  const service = sharedServiceName(s.config.app, name);
  const t = await current(s.manager, service);
  const network = await s.network();
  const address = typeof t === 'string' ? undefined : t.addresses?.[network];
  if (typeof t === 'string' || t.state !== 'running' || !address)
    throw new SwitchyardError(
      'COMMAND_FAILED',
      `the shared service ${name} is not running on the swarm (${typeof t === 'string' ? t : describeTask(t)})`,
      { hint: '`switchyard status` shows it; `switchyard init` starts it' },
    );
  return (await s.tunnel()).forward(address, port);
}
