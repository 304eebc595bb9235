/**
 * Cross-field checks the schema cannot express, on the config the schema has already validated
 * (load.ts runs them only once the schema passed): each rule reads typed values, touches no disk
 * (files.ts checks the files the config names) and returns its problems, so every problem is
 * reported at once (in the manner of changesets' config validation).
 */
import type { Config, ServiceConfig } from './schema.js';
import type { Problem } from './format-issues.js';
import { fixedPortOf } from './instances.js';
import type { Rule } from './rule.js';
import { routeFor, sortRoutes } from './routes.js';
import { metricsFits } from './metrics-rules.js';
import { nginxPreviewFits } from './nginx-rules.js';
import { swarmNotYet, swarmSectionFitsRuntime } from './swarm-rules.js';

export type { Rule } from './rule.js';

const serviceNames = (c: Config) => Object.keys(c.services);

function noSuchService(name: string, c: Config): string {
  return `no service named ${JSON.stringify(name)} (services: ${serviceNames(c).join(', ') || 'none'})`;
}

export const routeServicesExist: Rule = (c) =>
  c.proxy.routes.flatMap((r, i) =>
    !serviceNames(c).includes(r.service)
      ? [{ path: `proxy.routes.${i}.service`, message: noSuchService(r.service, c) }]
      : [],
  );

export const routePathsUnique: Rule = (c) => {
  const seen = new Map<string, number>();
  const out: Problem[] = [];
  c.proxy.routes.forEach((r, i) => {
    const first = seen.get(r.path);
    if (first === undefined) seen.set(r.path, i);
    else
      out.push({
        path: `proxy.routes.${i}.path`,
        message: `duplicate route; proxy.routes.${first}.path is the same`,
        got: r.path,
      });
  });
  return out;
};

export const databaseServiceExists: Rule = (c) => {
  const s = c.checks.database?.service;
  return s !== undefined && !serviceNames(c).includes(s)
    ? [{ path: 'checks.database.service', message: noSuchService(s, c) }]
    : [];
};

/** Each colour of each service needs its own port, distinct from every other and from the proxy's. */
export const portsDistinct: Rule = (c) => {
  const out: Problem[] = [];
  const owner = new Map<number, string>();
  const proxyPort = c.proxy.listen.http;
  const previewPort = c.proxy.listen.preview;
  const metricsPort = c.proxy.metrics?.listen.port;
  for (const [name, svc] of Object.entries(c.services)) {
    const p = svc.port;
    if (!p) continue;
    if (p.blue === p.green) {
      out.push({
        path: `services.${name}.port.green`,
        message: 'same as port.blue; each colour needs its own port',
        got: p.green,
      });
      continue;
    }
    // With several instances, instance N listens on the port + N - 1: each colour takes a range.
    for (const colour of ['blue', 'green'] as const) {
      const base = p[colour];
      const at = `services.${name}.port.${colour}`;
      for (let i = 1; i <= svc.instances; i++) {
        const n = fixedPortOf(base, i);
        const what = i === 1 ? '' : ` (instance ${i} of services.${name}.instances: port + ${i - 1} = ${n})`;
        const clash =
          n > 65535
            ? 'past the last port, 65535'
            : n === proxyPort
              ? 'same as the proxy port (proxy.listen.http)'
              : n === previewPort
                ? 'same as the preview port (proxy.listen.preview)'
                : n === metricsPort
                  ? 'same as the metrics port (proxy.metrics.listen.port)'
                  : owner.has(n)
                    ? `already used by ${owner.get(n)}`
                    : undefined;
        if (clash) {
          out.push({ path: at, message: `${clash}${what}`, got: base });
          break;
        }
        owner.set(n, i === 1 ? at : `${at} + ${i - 1} (instance ${i})`);
      }
    }
  }
  return out;
};

const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Smoke steps: each `{{var}}` must be captured by an earlier step, and each path must reach a route. */
export const smokeStepsResolve: Rule = (c) => {
  const out: Problem[] = [];
  const captured = new Set<string>();
  const routes = sortRoutes(c.proxy.routes);
  c.checks.smoke.forEach((step, i) => {
    if (!('request' in step)) return;
    const walk = (v: unknown, at: string) => {
      if (typeof v === 'string') {
        for (const m of v.matchAll(TEMPLATE))
          if (!captured.has(m[1] as string))
            out.push({ path: at, message: `{{${m[1]}}} is not captured by an earlier step` });
      } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
    };
    walk(step.request, `checks.smoke.${i}.request`);
    const p = step.request.path;
    if (!routeFor(routes, p))
      out.push({ path: `checks.smoke.${i}.request.path`, message: 'no proxy route matches this path', got: p });
    for (const k of Object.keys(step.capture)) captured.add(k);
  });
  return out;
};

/**
 * Runtime-specific service keys. The schema accepts the union of the runtimes' keys (see
 * serviceSchema) and its output separates them: a number port is `containerPort`, a `{ context }`
 * build is `dockerBuild` (a string build is both the process build command and a docker context).
 * Here each service is held to its runtime: docker and swarm services are both containers, with the
 * same keys (swarm-rules.ts refuses what swarm cannot do yet).
 */
type ContainerRuntime = 'docker' | 'swarm';
const isContainerRuntime = (r: Config['runtime']): r is ContainerRuntime => r === 'docker' || r === 'swarm';
const DOCKER_ONLY = ['image', 'volumes', 'healthcheck'] as const;
/** Defaults the schema fills in; only a value different from these was written by the user. */
const DOCKER_DEFAULTS: Record<string, unknown> = { volumes: [] };

function processService(name: string, svc: ServiceConfig): Problem[] {
  const out: Problem[] = [];
  const at = (k: string) => `services.${name}.${k}`;
  if (svc.command.length === 0)
    out.push({ path: at('command'), message: 'required for runtime: process (the command that starts the service)' });
  if (svc.containerPort !== undefined)
    out.push({
      path: at('port'),
      message:
        'runtime: process needs one port per colour: { blue: N, green: M } (or leave port out to pick free ones)',
      got: svc.containerPort,
    });
  if (svc.dockerBuild && svc.build === undefined)
    out.push({
      path: at('build'),
      message: 'a { context } build is for runtime: docker or swarm; for runtime: process, build is a command',
      got: svc.dockerBuild,
    });
  for (const k of DOCKER_ONLY) {
    const v = svc[k];
    if (v !== undefined && JSON.stringify(v) !== JSON.stringify(DOCKER_DEFAULTS[k]))
      out.push({ path: at(k), message: `only used by runtime: docker${k === 'volumes' ? '' : ' or swarm'}` });
  }
  return out;
}

/** How the colours reach a container's port, per container runtime. */
const REACHED: Record<ContainerRuntime, string> = {
  docker: 'switchyard publishes it on a 127.0.0.1 port per colour',
  swarm: "the edge proxy reaches each task on it over the project's overlay network",
};

function containerService(name: string, svc: ServiceConfig, runtime: ContainerRuntime): Problem[] {
  const out: Problem[] = [];
  const at = (k: string) => `services.${name}.${k}`;
  if (Array.isArray(svc.build))
    out.push({
      path: at('build'),
      message: `for runtime: ${runtime}, build is a context folder ("./api") or { context, dockerfile, args }`,
      got: svc.build,
    });
  if (svc.image === undefined && !svc.dockerBuild && !Array.isArray(svc.build))
    out.push({
      path: name ? `services.${name}` : 'services',
      message: `needs "image" (a local tag) or "build" (a context folder) for runtime: ${runtime}`,
    });
  if (svc.image !== undefined && svc.dockerBuild)
    out.push({ path: at('image'), message: 'give either image or build, not both' });
  if (svc.port !== undefined)
    out.push({
      path: at('port'),
      message: `for runtime: ${runtime}, port is the container port (a number); ${REACHED[runtime]}`,
      got: svc.port,
    });
  else if (svc.containerPort === undefined)
    out.push({
      path: at('port'),
      message: `required for runtime: ${runtime}: the port the service listens on inside the container`,
    });
  if (svc.shell)
    out.push({
      path: at('shell'),
      message: `only used by runtime: process (for ${runtime}, write command: ["sh", "-c", "..."])`,
    });
  return out;
}

export const serviceKeysFitRuntime: Rule = (c) => {
  const runtime = c.runtime;
  return Object.entries(c.services).flatMap(([name, svc]) =>
    isContainerRuntime(runtime) ? containerService(name, svc, runtime) : processService(name, svc),
  );
};

/** Shared services are containers: docker only (swarm-rules.ts words it for swarm), each with an image or a build. */
export const sharedServicesValid: Rule = (c) => {
  const shared = Object.entries(c.shared);
  if (shared.length === 0) return [];
  if (c.runtime === 'process')
    return [{ path: 'shared', message: 'shared services are containers: they need runtime: docker (or swarm)' }];
  const taken = new Set(serviceNames(c));
  return shared.flatMap(([name, s]) => {
    const out: Problem[] = [];
    if (s.image === undefined && s.build === undefined)
      out.push({ path: `shared.${name}`, message: 'needs "image" (a local tag) or "build" (a context folder)' });
    if (s.image !== undefined && s.build !== undefined)
      out.push({ path: `shared.${name}.image`, message: 'give either image or build, not both' });
    if (taken.has(name))
      out.push({
        path: `shared.${name}`,
        message: `a service is also named ${name}; shared and colour services need distinct names`,
      });
    if (c.runtime === 'docker' && s.node !== undefined)
      out.push({ path: `shared.${name}.node`, message: 'only used by runtime: swarm (the node it is pinned to)' });
    return out;
  });
};

/** nginx in a container reaches the colours' containers: only the docker runtime has them (swarm: swarm-rules.ts). */
export const proxyContainerNeedsDocker: Rule = (c) => {
  return c.proxy.kind === 'nginx' && c.proxy.mode === 'container' && c.runtime === 'process'
    ? [
        {
          path: 'proxy.mode',
          message: 'mode: container needs runtime: docker (use mode: host with runtime: process)',
          got: 'container',
        },
      ]
    : [];
};

/** backup.container names a shared service; the migrate hook's service is a colour service. */
export const backupAndHookTargetsExist: Rule = (c) => {
  const out: Problem[] = [];
  const b = c.backup;
  const shared = Object.keys(c.shared);
  if (b.kind === 'postgres' && b.container !== undefined && !shared.includes(b.container)) {
    out.push({
      path: 'backup.container',
      message:
        `no shared service named ${b.container}` +
        (shared.length
          ? ` (shared: ${shared.join(', ')})`
          : ' (there are no shared services; use url with the process runtime)'),
      got: b.container,
    });
  }
  const m = c.deploy.hooks.migrate;
  if (m?.service !== undefined && !serviceNames(c).includes(m.service)) {
    out.push({
      path: 'deploy.hooks.migrate.service',
      message: `no service named ${m.service} (services: ${serviceNames(c).join(', ')})`,
      got: m.service,
    });
  }
  return out;
};

/** Smoke tests through the preview route need the preview listener. */
export const smokeViaPreviewHasListener: Rule = (c) =>
  c.checks.smokeVia === 'preview' && c.proxy.listen.preview === undefined
    ? [
        {
          path: 'checks.smokeVia',
          message: 'preview needs a preview listener: set proxy.listen.preview to a free port',
          got: 'preview',
        },
      ]
    : [];

export const rules: Rule[] = [
  routeServicesExist,
  routePathsUnique,
  databaseServiceExists,
  portsDistinct,
  smokeStepsResolve,
  serviceKeysFitRuntime,
  sharedServicesValid,
  proxyContainerNeedsDocker,
  backupAndHookTargetsExist,
  smokeViaPreviewHasListener,
  nginxPreviewFits,
  metricsFits,
  swarmSectionFitsRuntime,
  swarmNotYet,
];

/** Every rule on a config the schema validated: all their problems, in one list. */
export function runRules(config: Config): Problem[] {
  return rules.flatMap((rule) => rule(config));
}
