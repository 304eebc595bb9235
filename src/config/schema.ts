/**
 * The shape of switchyard.yml. This zod schema is the single source of truth: the TypeScript
 * types, the validation messages and the published JSON Schema (schema/switchyard.schema.json)
 * all come from it. Cross-field checks live in rules.ts.
 */
import { dashboardSchema } from './dashboard-schema.js';
import { canaryFields } from './canary-schema.js';
import * as z from 'zod';
import {
  command,
  duration,
  headerName,
  headerValue,
  httpPath,
  name,
  noNul,
  port,
  type Colour,
} from './schema-prims.js';
import { backupSchema, hooksSchema } from './backup-schema.js';
import { byteSize, proxySchema } from './proxy-schema.js';
import { swarmSchema } from './swarm-schema.js';

export { COLOURS, duration, type Colour } from './schema-prims.js';
export type { BackupConfig, CommandBackupConfig, MigrateHook, PostgresBackupConfig } from './backup-schema.js';
export type { ManagerAddress, SwarmConfig, SwarmTls } from './swarm-schema.js';
export {
  proxySchema,
  routeSchema,
  type BuiltinProxyConfig,
  type MetricsConfig,
  type NginxProxyConfig,
  type ProxyConfig,
  type Route,
} from './proxy-schema.js';

export const expectSchema = z
  .object({
    status: z
      .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)])
      .optional()
      .meta({ description: 'the status code, or a list of accepted codes', 'x-default': 'any 2xx' }),
    json: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'subset match on the JSON body; `"*"` = present and not empty' }),
    contentType: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'a substring of the `Content-Type` header (case-insensitive)' }),
    headers: z
      .record(headerName, headerValue)
      .optional()
      .meta({ description: 'response headers and their values (case-insensitive names); `"*"` = present' }),
    bodyContains: z.string().optional().meta({ description: 'text the body must contain' }),
  })
  .strict();

const healthSchema = z
  .object({
    path: httpPath.meta({ description: "the path of the service's health endpoint (health level 3)" }),
    expect: expectSchema
      .default({ status: 200 })
      .meta({ description: 'what its answer must show (see `expect`)', 'x-default': 'status 200' }),
  })
  .strict();

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a valid environment variable name');
/** Environment values (and Docker build args): YAML scalars, kept as strings. */
const envValues = z.record(
  envName,
  z.union([z.string().refine(noNul, 'must not contain a NUL character'), z.number(), z.boolean()]).transform(String),
);

/**
 * Docker (runtime: docker): `build: { context, dockerfile, args }`; dockerfile is relative to the context, as in
 * compose.
 */
export const dockerBuildSchema = z
  .object({
    context: z.string().min(1).meta({ description: 'the build context folder, relative to the project folder' }),
    dockerfile: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'the Dockerfile, relative to the context (as in compose)', 'x-default': 'Dockerfile' }),
    args: envValues.default({}).meta({ description: 'build arguments (`--build-arg`), kept as strings' }),
  })
  .strict();

/**
 * A mount: "name:/path" (a named volume, switchyard prefixes it with the app) or "./host/path:/path", optionally ":ro".
 */
const volume = z
  .string()
  .regex(/^[^:\s]+:\/[^:\s]*(:(ro|rw))?$/, 'expected "name:/path", "./host/path:/path" or either with ":ro"');

/** `never` is the process runtime's word for Docker's `no`: both are accepted by both runtimes. */
const restartPolicy = z.enum(['no', 'never', 'always', 'unless-stopped', 'on-failure']);

/**
 * Overrides the image's HEALTHCHECK. `test` as in Docker: ["CMD", "prog", "arg"], ["CMD-SHELL", "line"] or ["NONE"].
 */
export const dockerHealthcheckSchema = z
  .object({
    test: z
      .array(z.string().min(1))
      .min(1)
      .meta({ description: 'as in Docker: `["CMD", "prog", "arg"]`, `["CMD-SHELL", "line"]` or `["NONE"]`' }),
    interval: duration
      .optional()
      .meta({ description: 'time between two checks', 'x-default': "the image's, else 30s" }),
    timeout: duration.optional().meta({
      description: 'longest a check may take before it counts as failed',
      'x-default': "the image's, else 30s",
    }),
    startPeriod: duration
      .optional()
      .meta({ description: 'start-up time during which failures do not count', 'x-default': "the image's, else 0s" }),
    retries: z.number().int().min(0).max(100).optional().meta({
      description: 'consecutive failures before the container counts as unhealthy',
      'x-default': "the image's, else 3",
    }),
  })
  .strict();

/**
 * One schema for both runtimes; rules.ts checks that the keys fit `runtime`. Three keys mean
 * different things per runtime, so the output splits them: a number `port` (docker: the container
 * port) becomes `containerPort`; a `{ context }` build becomes `dockerBuild` (a string build is kept
 * as the process build command AND read as a docker context folder); a missing `command` becomes
 * [] (docker: the image's CMD). The process runtime thus reads the same fields as before.
 */
const serviceInput = z
  .object({
    cwd: z.string().min(1).default('.').meta({ description: 'source folder, snapshotted per release' }),
    command: command.optional().meta({
      description:
        'argument array, or a string split on whitespace; `/bin/sh -c` only with `shell: true`' +
        "; docker: overrides the image's CMD",
      'x-default': "required (docker: the image's CMD)",
    }),
    build: z
      .union([command, dockerBuildSchema])
      .optional()
      .meta({
        description:
          'run in the release folder before start; non-zero exit fails the deploy. ' +
          'docker: a context folder or `{ context, dockerfile, args }`, built into one image per release',
      }),
    shell: z
      .boolean()
      .default(false)
      .meta({ description: 'run string commands through `/bin/sh -c` (process runtime)' }),
    port: z
      .union([
        port,
        z
          .object({
            blue: port.meta({ description: "the blue colour's port" }),
            green: port.meta({ description: "the green colour's port" }),
          })
          .strict(),
      ])
      .optional()
      .meta({
        description:
          '`{ blue: N, green: M }`: fixed ports per colour (both run at once during a deploy). ' +
          'docker: the container port (required), published on a 127.0.0.1 port per colour',
        'x-default': 'picked free',
      }),
    instances: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .meta({
        description:
          'how many copies of the service each colour runs (processes or containers), each on its own port, ' +
          'balanced by the proxy; a deploy health-checks every one, and while one restarts the others serve. ' +
          'With fixed `port`s, instance N listens on the port + N - 1. Each gets `SWITCHYARD_INSTANCE` (1..N)',
        'x-default': '1',
      }),
    env: envValues.default({}).meta({
      description:
        'extra environment; every service also gets `PORT`, `HOST` (process runtime: `127.0.0.1`; ' +
        'Docker: `0.0.0.0` unless the image sets `HOST`), `ENVIRONMENT_NAME=<colour>`, `SWITCHYARD_COLOUR`, ' +
        '`SWITCHYARD_RELEASE`, `SWITCHYARD_INSTANCE`, `SWITCHYARD_PROJECT_DIR` (process runtime)',
    }),
    /** Docker's name for `env` (as in compose); both are merged, `env` wins. */
    environment: envValues
      .optional()
      .meta({ description: "Docker's name for `env` (as in compose); both are merged, `env` wins" }),
    env_file: z
      .string()
      .optional()
      .meta({
        description:
          'extra environment from a dotenv file (relative to the project folder): over the top-level ' +
          '`env_file`, under `env`',
      }),
    health: healthSchema.meta({ description: '`{ path, expect }` (default expect: status 200)' }),
    stopTimeout: duration.default(10_000).meta({ description: 'SIGTERM grace before SIGKILL', 'x-default': '10s' }),
    buildTimeout: duration
      .default(600_000)
      .meta({ description: 'bound on the build (the `build` command, or the image build)', 'x-default': '10m' }),
    image: z.string().min(1).optional().meta({
      description:
        'docker: an image tag on this engine (nothing is pulled), pinned per release; give `image` or `build`',
    }),
    volumes: z
      .array(volume)
      .default([])
      .meta({
        description:
          'docker: `"name:/path"` (a named volume, prefixed with the app) or `"./host/path:/path"` ' +
          '(relative to the project folder), optionally `":ro"`',
      }),
    restart: restartPolicy.default('unless-stopped').meta({
      description:
        'when an exited service is started again: `always` / `unless-stopped` (the default), `on-failure` ' +
        "(a non-zero exit or a signal) or `never` / `no`. docker: the containers' restart policy; process " +
        "runtime: switchyard's supervisor, from the same release and port (the environment read again " +
        'from the config), with backoff',
    }),
    healthcheck: dockerHealthcheckSchema.optional().meta({
      description: "docker: overrides the image's `HEALTHCHECK` (health level 2)",
      'x-default': "the image's",
    }),
  })
  .strict();

type DockerBuild = z.output<typeof dockerBuildSchema>;
const isDockerBuild = (b: unknown): b is DockerBuild => typeof b === 'object' && b !== null && !Array.isArray(b);

export const serviceSchema = serviceInput.transform(({ command: cmd, build, port: p, environment, ...rest }) => {
  const dockerBuild: DockerBuild | undefined = isDockerBuild(build)
    ? build
    : typeof build === 'string'
      ? { context: build, args: {} }
      : undefined;
  return {
    ...rest,
    env: { ...(environment ?? {}), ...rest.env },
    command: cmd ?? ([] as string[]),
    ...(build !== undefined && !isDockerBuild(build) ? { build } : {}),
    ...(typeof p === 'object' ? { port: p } : {}),
    ...(typeof p === 'number' ? { containerPort: p } : {}),
    ...(dockerBuild ? { dockerBuild } : {}),
  } as Omit<z.output<typeof serviceInput>, 'command' | 'build' | 'port' | 'environment'> & {
    command: Command;
    build?: Command;
    port?: { blue: number; green: number };
    containerPort?: number;
    dockerBuild?: DockerBuild;
  };
});

/**
 * Shared services (runtime: docker): one container each, `<app>-<name>`, started by init, never stopped by
 * deploy/rollback.
 */
export const sharedSchema = z
  .object({
    image: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'an image tag on this engine (nothing is pulled); give `image` or `build`' }),
    build: z
      .union([z.string().min(1), dockerBuildSchema])
      .optional()
      .meta({
        description:
          'a context folder or `{ context, dockerfile, args }`; built once, into `<app>-<name>:shared`, ' +
          'and rebuilt only when that image is missing',
      }),
    environment: envValues.default({}).meta({ description: "the container's environment (over `env_file`'s values)" }),
    env_file: z
      .string()
      .optional()
      .meta({ description: "dotenv file (relative to the project folder) for the container's environment" }),
    volumes: z
      .array(volume)
      .default([])
      .meta({
        description:
          '`"name:/path"` (a named volume, prefixed with the app; kept by `down`) or `"./host/path:/path"` ' +
          '(relative to the project folder), optionally `":ro"`',
      }),
    /** Published ports, "[host-ip:]host-port:container-port"; without an ip they bind 127.0.0.1 only. */
    ports: z
      .array(
        z.string().regex(/^((\d{1,3}\.){3}\d{1,3}:)?\d{1,5}:\d{1,5}$/, 'expected "127.0.0.1:5432:5432" or "5432:5432"'),
      )
      .default([])
      .meta({
        description: 'published ports, `"[host-ip:]host-port:container-port"`; without an ip they bind 127.0.0.1 only',
      }),
    command: command.optional().meta({
      description: "overrides the image's CMD: an argument array, or a string split on whitespace (no shell)",
      'x-default': "the image's CMD",
    }),
    healthcheck: dockerHealthcheckSchema.optional().meta({
      description: "overrides the image's `HEALTHCHECK`; `init` waits until it reports healthy",
      'x-default': "the image's",
    }),
    restart: restartPolicy.default('unless-stopped').meta({
      description: "the container's restart policy: `no`, `always`, `unless-stopped` or `on-failure`",
    }),
    stopTimeout: duration
      .default(30_000)
      .meta({ description: 'grace before Docker kills the container when it is stopped', 'x-default': '30s' }),
    node: z
      .string()
      .min(1)
      .optional()
      .meta({
        description:
          'runtime: swarm: the node (its hostname, as `docker node ls` shows it) the service is pinned to, with ' +
          'its volumes (a named volume lives on one node); required there, refused elsewhere',
      }),
    /** How long startShared waits for the container to be running and (with a HEALTHCHECK) healthy. */
    startTimeout: duration.default(120_000).meta({
      description: 'how long `init` waits for the container to be running and (with a `HEALTHCHECK`) healthy',
      'x-default': '2m',
    }),
  })
  .strict();

const requestSchema = z
  .object({
    method: z
      .enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
      .default('GET')
      .meta({ description: 'the HTTP method' }),
    path: httpPath.meta({
      description: 'the request path: it must match a proxy route, whose service gets the request; may use `{{name}}`',
    }),
    headers: z
      .record(headerName, headerValue)
      .default({})
      .meta({ description: 'request headers; values may use `{{name}}`' }),
    json: z.unknown().optional().meta({
      description:
        'a JSON body (with `content-type: application/json` unless a header sets one); strings may use `{{name}}`',
    }),
    body: z
      .string()
      .optional()
      .meta({ description: 'a body as text, sent when there is no `json`; may use `{{name}}`' }),
  })
  .strict();

const httpStepSchema = z
  .object({
    name: z.string().min(1).meta({ description: 'the step, as the output names it' }),
    request: requestSchema.meta({
      description:
        '`{ method, path, headers, json or body }`: the request, sent to the target colour (see `checks.smokeVia`)',
    }),
    expect: expectSchema
      .default({ status: 200 })
      .meta({ description: 'what the answer must show (see `expect`)', 'x-default': 'status 200' }),
    capture: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
        z.string().regex(/^\$(\.[A-Za-z_$][\w$-]*|\[\d+\])*$/, 'expected a path such as "$.data.token"'),
      )
      .default({})
      .meta({
        description:
          'variables taken from the JSON body by `$.a.b[0]` paths; ' +
          'later steps use `{{name}}` in path, headers and body',
      }),
  })
  .strict();

const runStepSchema = z
  .object({
    name: z.string().min(1).meta({ description: 'the step, as the output names it' }),
    run: command.meta({
      description:
        'a command (argument array, or a string split on whitespace), run in the project folder with ' +
        '`TARGET_URL` (the service behind `/`), `COLOUR` and `SERVICE_<NAME>_URL`; a non-zero exit fails the step',
    }),
    shell: z.boolean().default(false).meta({ description: 'run a string `run` through `/bin/sh -c`' }),
    timeout: duration
      .default(60_000)
      .meta({ description: 'longest the command may run before it is killed and fails', 'x-default': '60s' }),
  })
  .strict();

export const smokeStepSchema = z.union([httpStepSchema, runStepSchema]);

export const checksSchema = z
  .object({
    interval: duration
      .default(500)
      .meta({ description: 'health polling: the pause between two rounds of checks', 'x-default': '500ms' }),
    timeout: duration
      .default(60_000)
      .meta({ description: 'health polling: how long a colour may take to become healthy', 'x-default': '60s' }),
    requestTimeout: duration.default(5_000).meta({
      description: 'health polling: the bound on each request (health endpoints, smoke steps, the database)',
      'x-default': '5s',
    }),
    healthyAfter: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(2)
      .meta({ description: 'consecutive fully passing rounds before a colour counts as healthy' }),
    database: z
      .object({
        service: z.string().min(1).meta({ description: 'the service asked, by name' }),
        path: httpPath.meta({ description: 'the path asked, e.g. its health endpoint' }),
        expect: expectSchema.meta({
          description: 'what the answer must show, e.g. `json: { database: connected }` (see `expect`)',
        }),
      })
      .strict()
      .optional()
      .meta({ description: '`{ service, path, expect }`: health level 4' }),
    smoke: z
      .array(smokeStepSchema)
      .default([])
      .meta({
        description:
          'HTTP steps `{ name, request: { method, path, headers, json or body }, expect, capture }` or command steps ' +
          '`{ name, run, shell, timeout }`, in order; the first failure stops the rest',
      }),
    /**
     * Where smoke steps send their requests: straight to the target's services, or through the proxy's preview
     * listener.
     */
    smokeVia: z
      .enum(['direct', 'preview'])
      .default('direct')
      .meta({
        description:
          "`direct`: smoke steps go straight to the target's services; `preview`: smoke steps go through the " +
          "proxy's preview listener (the real proxy path), after checking it serves the target",
      }),
  })
  .strict();

export const deploySchema = z
  .object({
    autoSwitch: z.boolean().default(false).meta({ description: 'switch without asking' }),
    pull: z.boolean().default(false).meta({ description: '`git pull --ff-only` before building' }),
    drainTimeout: duration
      .default(30_000)
      .meta({ description: 'longest wait for in-flight requests on the old colour', 'x-default': '30s' }),
    streamGrace: duration.default(2_000).meta({
      description:
        'how long the old colour keeps its streams after a switch: then the built-in proxy ends its SSE ' +
        'responses cleanly (EventSource reconnects, to the new colour) and closes its WebSockets with 1001, ' +
        'and the drain waits only for ordinary requests; nginx stops waiting for its streams and leaves ' +
        "them to the colour's stop, whose SIGTERM the app answers by ending them (see [Traffic](traffic.md#streams))",
      'x-default': '2s',
    }),
    stopOld: z.boolean().default(true).meta({ description: 'stop the old colour after the switch' }),
    keepOldFor: duration
      .default(0)
      .meta({ description: 'keep the old colour warm this long, then stop it', 'x-default': '0' }),
    keepReleases: z
      .number()
      .int()
      .min(2)
      .max(100)
      .default(3)
      .meta({ description: 'release folders kept (never the live one nor the rollback target)' }),
    verifyTimeout: duration
      .default(10_000)
      .meta({ description: 'how long the public entry may take to answer from the new colour', 'x-default': '10s' }),
    exclude: z.array(z.string().min(1)).default(['.git', '.switchyard', 'node_modules/.cache']).meta({
      description: 'not copied into release snapshots',
      'x-default': '.git, .switchyard, node_modules/.cache',
    }),
    hooks: hooksSchema.default({}).meta({ description: 'commands run during a deploy: `migrate`' }),
    ...canaryFields,
  })
  .strict();

/** Log rotation (issue 12, part 6): the smallest maxSize keeps a rotation from running for every few lines. */
export const MIN_LOG_SIZE = 64 * 1024;
const logsSchema = z
  .object({
    maxSize: byteSize
      .default(10 * 1024 * 1024)
      .refine((n) => n >= MIN_LOG_SIZE, 'at least 64k (a log rotated every few lines helps nobody)')
      .meta({
        description:
          "a service log (process runtime), the built-in proxy's and the supervisor's log, and nginx's error log " +
          'are rotated when they reach this size (`"10m"`, `"512k"`): without a restart and without losing a line ' +
          "(see [Recovery](recovery.md)); docker: the containers' `max-size` log option",
        'x-default': '10m',
      }),
    keep: z
      .number()
      .int()
      .min(0)
      .max(100)
      .default(5)
      .meta({
        description:
          'rotated files kept per log (`<log>.1` newest, up to `<log>.<keep>`), so a log takes at most ' +
          '`maxSize x (keep + 1)` of disk; docker: `max-file` is keep + 1',
      }),
  })
  .strict();

export type LogsConfig = z.output<typeof logsSchema>;

export const configSchema = z
  .object({
    $schema: z
      .string()
      .optional()
      .meta({
        description:
          'the JSON Schema editors validate this file with, e.g. ' +
          '`./node_modules/switchyard/schema/switchyard.schema.json`; switchyard ignores it',
      }),
    app: name('app').meta({ description: 'name, `a-z0-9-` (1-40 characters, starting with a letter)' }),
    runtime: z
      .enum(['process', 'docker', 'swarm'])
      .default('process')
      .meta({
        description:
          '`process` (local processes), `docker` (containers; services then take `image` or ' +
          '`build: { context, dockerfile, args }`, `port` = the container port, `volumes`, `restart`, `healthcheck`; ' +
          'top-level `shared:` services) or `swarm` (Docker Swarm services, in progress: see [Swarm](swarm.md); ' +
          'services as for docker, without `volumes`; needs the `swarm:` section)',
      }),
    env_file: z.string().optional().meta({
      description: 'dotenv file; its values are variables for `${...}` and given to every service; never printed',
    }),
    proxy: proxySchema.meta({ description: 'the proxy in front of the colours: `kind` `builtin` or `nginx`' }),
    services: z
      .record(name('a service name'), serviceSchema)
      .refine((s) => Object.keys(s).length > 0, 'at least one service is needed')
      .meta({
        description:
          "the app's services, by name (`a-z0-9-`), at least one: each runs once per colour, behind `proxy.routes`",
      }),
    shared: z
      .record(name('a shared service name'), sharedSchema)
      .default({})
      .meta({
        description:
          'docker: shared services, by name: one container each, `<app>-<name>`, started by `init`, ' +
          'never stopped by deploy or rollback (e.g. the database)',
      }),
    swarm: swarmSchema.optional().meta({
      description:
        'runtime: swarm (and only then): `{ manager, tls, registry, constraints, edge }`, where the swarm is ' +
        'and how the colours are placed (see [Swarm](swarm.md))',
    }),
    checks: checksSchema
      .default(() => checksSchema.parse({}))
      .meta({
        description: 'the health checks and smoke steps a colour passes before it takes traffic',
        'x-default': 'every key at its default',
      }),
    deploy: deploySchema
      .default(() => deploySchema.parse({}))
      .meta({
        description: 'how `deploy` builds, switches and cleans up',
        'x-default': 'every key at its default',
      }),
    logs: logsSchema
      .default(() => logsSchema.parse({}))
      .meta({
        description: 'how big the service and proxy logs may grow (see [Recovery](recovery.md), bounded logs)',
        'x-default': 'every key at its default',
      }),
    backup: backupSchema.default({ kind: 'none' }).meta({
      description: 'backups before every deploy and for `backup` / `restore` (see [Backups and restore](backups.md))',
      'x-default': '{ kind: none }',
    }),
    dashboard: dashboardSchema.optional().meta({
      description: '`switchyard dashboard`: `listen: { host, port }` and `token` (see [Dashboard](dashboard.md))',
    }),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ServiceConfig = z.output<typeof serviceSchema>;
export type SharedConfig = z.output<typeof sharedSchema>;
export type DockerBuildConfig = z.output<typeof dockerBuildSchema>;
export type DockerHealthcheck = z.output<typeof dockerHealthcheckSchema>;
export type Expect = z.output<typeof expectSchema>;
export type SmokeStep = z.output<typeof smokeStepSchema>;
export type HttpSmokeStep = z.output<typeof httpStepSchema>;
export type RunSmokeStep = z.output<typeof runStepSchema>;
export type Command = z.output<typeof command>;

export function isColour(v: unknown): v is Colour {
  return v === 'blue' || v === 'green';
}
export function otherColour(c: Colour): Colour {
  return c === 'blue' ? 'green' : 'blue';
}
