/**
 * The Swarm service of one colour of one service (issue 13, docs/swarm.md), as data: a pure
 * function from what a deploy knows to the spec the manager is given, so it is unit-tested and
 * the same inputs always give the same spec. One service per service and colour,
 * `<app>_<service>_<colour>`, `instances` replicas of the image pinned by digest, on the project's
 * overlay network with `endpoint_mode: dnsrr` (no VIP: the edge proxies find the tasks by
 * `tasks.<service>` DNS), labelled like the Docker runtime's containers so switchyard finds its
 * services again by label, never by name alone.
 */
import type Docker from 'dockerode';
import type { Colour } from '../../config/schema.js';
// The Docker runtime's label names: switchyard finds its containers and its services by the same labels.
import { LABEL } from '../docker/index.js';

/** Nanoseconds, as the Swarm API counts durations. */
const ns = (ms: number): number => Math.round(ms * 1e6);

/** `<app>_<service>_<colour>`, as `docker stack deploy` would name a stack's service. */
export const swarmServiceName = (app: string, service: string, colour: Colour): string => `${app}_${service}_${colour}`;

/** The DNS name that resolves to every running task of the service, on its overlay network. */
export const tasksName = (app: string, service: string, colour: Colour): string =>
  `tasks.${swarmServiceName(app, service, colour)}`;

export interface SwarmHealthcheck {
  /** As in Docker: ["CMD", ...], ["CMD-SHELL", "line"] or ["NONE"]. */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  startPeriodMs?: number;
  retries?: number;
}

export interface ColourServiceInput {
  app: string;
  service: string;
  colour: Colour;
  release: string;
  /** `<registry>/<repo>@sha256:...`: never a tag (push.ts). */
  image: string;
  replicas: number;
  /** The overlay network of the project. */
  network: string;
  env: Record<string, string>;
  /** The port the app listens on inside its container (PORT). */
  containerPort: number;
  stopTimeoutMs: number;
  /** `services.<name>.restart`: Swarm's restart condition. */
  restart: 'no' | 'never' | 'always' | 'unless-stopped' | 'on-failure';
  /** Placement constraints, as `docker service create --constraint` takes them. */
  constraints: string[];
  /** Overrides the image's HEALTHCHECK (a task counts as running only once it is healthy). */
  healthcheck?: SwarmHealthcheck;
  /** Overrides the image's CMD (`services.<name>.command`, as the Docker runtime's Cmd); absent: the image's. */
  command?: string[];
}

function restartCondition(r: ColourServiceInput['restart']): 'none' | 'on-failure' | 'any' {
  if (r === 'no' || r === 'never') return 'none';
  return r === 'on-failure' ? 'on-failure' : 'any';
}

function healthConfig(h: SwarmHealthcheck): Docker.HealthConfig {
  return {
    Test: h.test,
    ...(h.intervalMs !== undefined ? { Interval: ns(h.intervalMs) } : {}),
    ...(h.timeoutMs !== undefined ? { Timeout: ns(h.timeoutMs) } : {}),
    ...(h.startPeriodMs !== undefined ? { StartPeriod: ns(h.startPeriodMs) } : {}),
    ...(h.retries !== undefined ? { Retries: h.retries } : {}),
  };
}

export function colourServiceSpec(i: ColourServiceInput): Docker.CreateServiceOptions {
  if (!/@sha256:[0-9a-f]{64}$/.test(i.image))
    throw new Error(`the swarm runs images pinned by digest, not ${JSON.stringify(i.image)}`);
  if (!Number.isInteger(i.replicas) || i.replicas < 1) throw new Error(`replicas must be 1 or more, not ${i.replicas}`);
  const labels = {
    [LABEL.app]: i.app,
    [LABEL.service]: i.service,
    [LABEL.colour]: i.colour,
    [LABEL.release]: i.release,
    [LABEL.role]: 'colour',
  };
  const env = {
    // As in the Docker runtime: every interface inside the container, unless the config says otherwise.
    HOST: '0.0.0.0',
    ...i.env,
    PORT: String(i.containerPort),
    ENVIRONMENT_NAME: i.colour,
    SWITCHYARD_COLOUR: i.colour,
    SWITCHYARD_RELEASE: i.release,
    // A template the node's agent fills in: the task's slot, 1..replicas (the instance number).
    SWITCHYARD_INSTANCE: '{{.Task.Slot}}',
  };
  return {
    Name: swarmServiceName(i.app, i.service, i.colour),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: i.image,
        ...(i.command && i.command.length > 0 ? { Args: [...i.command] } : {}),
        Labels: labels,
        Env: Object.entries(env)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, v]) => `${k}=${v}`),
        StopGracePeriod: ns(i.stopTimeoutMs),
        ...(i.healthcheck ? { HealthCheck: healthConfig(i.healthcheck) } : {}),
      },
      RestartPolicy: { Condition: restartCondition(i.restart), Delay: ns(1_000) },
      Placement: { Constraints: [...i.constraints] },
      Networks: [{ Target: i.network, Aliases: [`${i.service}-${i.colour}`] }],
    },
    Mode: { Replicated: { Replicas: i.replicas } },
    // A colour is replaced whole by a deploy (blue-green), never rolled: an update of the same
    // colour's service (a rollback's restart) starts the new task before it stops the old one.
    UpdateConfig: { Parallelism: 1, Order: 'start-first', FailureAction: 'pause' },
    EndpointSpec: { Mode: 'dnsrr' },
  };
}
