/**
 * The shape of switchyard.yml. This zod schema is the single source of truth: the TypeScript
 * types, the validation messages and the published JSON Schema (schema/switchyard.schema.json)
 * all come from it. Cross-field checks live in rules.ts.
 */
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
import { proxySchema } from './proxy-schema.js';

export { COLOURS, duration, type Colour } from './schema-prims.js';
export type { BackupConfig, CommandBackupConfig, MigrateHook, PostgresBackupConfig } from './backup-schema.js';
export {
  proxySchema,
  routeSchema,
  type BuiltinProxyConfig,
  type NginxProxyConfig,
  type ProxyConfig,
  type Route,
} from './proxy-schema.js';

export const expectSchema = z
  .object({
    status: z
      .union([z.number().int().min(100).max(599), z.array(z.number().int().min(100).max(599)).min(1)])
      .optional(),
    json: z.record(z.string(), z.unknown()).optional(),
    contentType: z.string().min(1).optional(),
    headers: z.record(headerName, headerValue).optional(),
    bodyContains: z.string().optional(),
  })
  .strict();

const healthSchema = z
  .object({
    path: httpPath,
    expect: expectSchema.default({ status: 200 }),
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
    context: z.string().min(1),
    dockerfile: z.string().min(1).optional(),
    args: envValues.default({}),
  })
  .strict();

/**
 * A mount: "name:/path" (a named volume, switchyard prefixes it with the app) or "./host/path:/path", optionally ":ro".
 */
const volume = z
  .string()
  .regex(/^[^:\s]+:\/[^:\s]*(:(ro|rw))?$/, 'expected "name:/path", "./host/path:/path" or either with ":ro"');

const restartPolicy = z.enum(['no', 'always', 'unless-stopped', 'on-failure']);

/**
 * Overrides the image's HEALTHCHECK. `test` as in Docker: ["CMD", "prog", "arg"], ["CMD-SHELL", "line"] or ["NONE"].
 */
export const dockerHealthcheckSchema = z
  .object({
    test: z.array(z.string().min(1)).min(1),
    interval: duration.optional(),
    timeout: duration.optional(),
    startPeriod: duration.optional(),
    retries: z.number().int().min(0).max(100).optional(),
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
    cwd: z.string().min(1).default('.'),
    command: command.optional(),
    build: z.union([command, dockerBuildSchema]).optional(),
    shell: z.boolean().default(false),
    port: z.union([port, z.object({ blue: port, green: port }).strict()]).optional(),
    env: envValues.default({}),
    /** Docker's name for `env` (as in compose); both are merged, `env` wins. */
    environment: envValues.optional(),
    env_file: z.string().optional(),
    health: healthSchema,
    stopTimeout: duration.default(10_000),
    buildTimeout: duration.default(600_000),
    image: z.string().min(1).optional(),
    volumes: z.array(volume).default([]),
    restart: restartPolicy.default('unless-stopped'),
    healthcheck: dockerHealthcheckSchema.optional(),
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
    image: z.string().min(1).optional(),
    build: z.union([z.string().min(1), dockerBuildSchema]).optional(),
    environment: envValues.default({}),
    env_file: z.string().optional(),
    volumes: z.array(volume).default([]),
    /** Published ports, "[host-ip:]host-port:container-port"; without an ip they bind 127.0.0.1 only. */
    ports: z
      .array(
        z.string().regex(/^((\d{1,3}\.){3}\d{1,3}:)?\d{1,5}:\d{1,5}$/, 'expected "127.0.0.1:5432:5432" or "5432:5432"'),
      )
      .default([]),
    command: command.optional(),
    healthcheck: dockerHealthcheckSchema.optional(),
    restart: restartPolicy.default('unless-stopped'),
    stopTimeout: duration.default(30_000),
    /** How long startShared waits for the container to be running and (with a HEALTHCHECK) healthy. */
    startTimeout: duration.default(120_000),
  })
  .strict();

const requestSchema = z
  .object({
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
    path: httpPath,
    headers: z.record(headerName, headerValue).default({}),
    json: z.unknown().optional(),
    body: z.string().optional(),
  })
  .strict();

const httpStepSchema = z
  .object({
    name: z.string().min(1),
    request: requestSchema,
    expect: expectSchema.default({ status: 200 }),
    capture: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
        z.string().regex(/^\$(\.[A-Za-z_$][\w$-]*|\[\d+\])*$/, 'expected a path such as "$.data.token"'),
      )
      .default({}),
  })
  .strict();

const runStepSchema = z
  .object({
    name: z.string().min(1),
    run: command,
    shell: z.boolean().default(false),
    timeout: duration.default(60_000),
  })
  .strict();

export const smokeStepSchema = z.union([httpStepSchema, runStepSchema]);

export const checksSchema = z
  .object({
    interval: duration.default(500),
    timeout: duration.default(60_000),
    requestTimeout: duration.default(5_000),
    healthyAfter: z.number().int().min(1).max(100).default(2),
    database: z
      .object({ service: z.string().min(1), path: httpPath, expect: expectSchema })
      .strict()
      .optional(),
    smoke: z.array(smokeStepSchema).default([]),
    /**
     * Where smoke steps send their requests: straight to the target's services, or through the proxy's preview
     * listener.
     */
    smokeVia: z.enum(['direct', 'preview']).default('direct'),
  })
  .strict();

export const deploySchema = z
  .object({
    autoSwitch: z.boolean().default(false),
    pull: z.boolean().default(false),
    drainTimeout: duration.default(30_000),
    stopOld: z.boolean().default(true),
    keepOldFor: duration.default(0),
    keepReleases: z.number().int().min(2).max(100).default(3),
    verifyTimeout: duration.default(10_000),
    exclude: z.array(z.string().min(1)).default(['.git', '.switchyard', 'node_modules/.cache']),
    hooks: hooksSchema.default({}),
    ...canaryFields,
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    app: name('app'),
    runtime: z.enum(['process', 'docker']).default('process'),
    env_file: z.string().optional(),
    proxy: proxySchema,
    services: z
      .record(name('a service name'), serviceSchema)
      .refine((s) => Object.keys(s).length > 0, 'at least one service is needed'),
    shared: z.record(name('a shared service name'), sharedSchema).default({}),
    checks: checksSchema.default(() => checksSchema.parse({})),
    deploy: deploySchema.default(() => deploySchema.parse({})),
    backup: backupSchema.default({ kind: 'none' }),
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
