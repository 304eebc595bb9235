/**
 * The `proxy:` section of switchyard.yml: a union on `kind` (builtin | nginx). Part of the config
 * schema (schema.ts), kept apart because nginx brings many options of its own.
 */
import * as z from 'zod';
import { duration, httpPath, port } from './schema-prims.js';
import { previewPort, trafficFields } from './traffic-schema.js';
export const routeSchema = z.object({ path: httpPath, service: z.string().min(1) }).strict();

const listenHost = z.string().min(1).default('127.0.0.1');

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A body size for the built-in proxy, as nginx writes them ("10m", "512k", "1g", "0" = no limit) or a number of bytes;
 * becomes bytes.
 */
export const byteSize = z
  .union([z.string(), z.number()])
  .transform((v, ctx) => {
    const m =
      typeof v === 'number'
        ? Number.isSafeInteger(v) && v >= 0
          ? ['', String(v), '']
          : null
        : /^(\d{1,12})([kKmMgG]?)$/.exec(v);
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a size such as "10m", "512k", "1g", "0" (no limit) or a number of bytes',
      });
      return z.NEVER;
    }
    return Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1);
  })
  .meta({ description: 'A size: "10m", "512k", "1g", "0" (no limit) or a number of bytes.' });

/** Upper bound of proxy.workers: more processes than this only compete for the same cores. */
export const MAX_PROXY_WORKERS = 16;

/** The built-in proxy's default request body limit, the same as nginx's clientMaxBodySize default here. */
export const DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024;

const builtinProxySchema = z
  .object({
    kind: z.literal('builtin').default('builtin'),
    listen: z
      .object({
        http: port,
        host: listenHost,
        ...previewPort,
      })
      .strict(),
    routes: z.array(routeSchema).min(1),
    /** Largest request body the proxy forwards; larger ones get 413. */
    maxBodySize: byteSize.default(DEFAULT_MAX_BODY_SIZE),
    /**
     * Processes serving traffic. 1: the daemon itself. More: the daemon forks that many workers that
     * share the listening ports and each apply every change before it is acknowledged. A change
     * takes effect when the proxy daemon next starts.
     */
    workers: z.number().int().min(1).max(MAX_PROXY_WORKERS).default(1),
    ...trafficFields,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.listen.preview !== undefined && p.listen.preview === p.listen.http)
      ctx.addIssue({
        code: 'custom',
        path: ['listen', 'preview'],
        message: 'same as listen.http; the preview listener needs its own port',
      });
  });

/** An nginx size such as "10m", "512k" or "0" (no limit). */
const nginxSize = z.union([
  z.string().regex(/^\d+[kKmMgG]?$/, 'expected a size such as "10m", "512k" or "0"'),
  z.number().int().min(0).transform(String),
]);

/**
 * nginx driven by switchyard. `mode: container` (nginx in Docker) comes with the docker runtime;
 * until then it is refused here, so a config never silently gets an nginx it did not ask for.
 */
const nginxProxySchema = z
  .object({
    kind: z.literal('nginx'),
    /**
     * host: the nginx installed on this machine; container: the same nginx in a container `<app>-proxy` (needs runtime:
     * docker).
     */
    mode: z.enum(['host', 'container']).default('host'),
    /**
     * mode: container: the image that provides nginx (no registry here: a locally built one such as
     * switchyard/base:bookworm).
     */
    image: z.string().min(1).default('nginx:stable'),
    listen: z
      .object({
        http: port,
        https: port.optional(),
        host: listenHost,
        ...previewPort,
      })
      .strict(),
    /** Certificate and key files (PEM), relative to the project folder. */
    tls: z
      .object({ cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    routes: z.array(routeSchema).min(1),
    binary: z.string().min(1).default('nginx'),
    /** Worker user when switchyard runs as root (default: the owner of the project folder). */
    user: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'expected a user name')
      .optional(),
    workerProcesses: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
    workerConnections: z.number().int().min(16).max(1_000_000).default(1024),
    /** Idle keep-alive connections nginx keeps per upstream (colour of a service). */
    keepalive: z.number().int().min(1).max(100_000).default(64),
    /** Below the usual backend idle timeout (Node: 5 s), so nginx never reuses a connection the backend is closing. */
    upstreamKeepaliveTimeout: duration.default(4_000),
    clientMaxBodySize: nginxSize.default('10m'),
    connectTimeout: duration.default(5_000),
    readTimeout: duration.default(60_000),
    sendTimeout: duration.default(60_000),
    ...trafficFields,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.listen.https !== undefined && p.tls === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: 'required when listen.https is set (tls: { cert, key })',
      });
    if (p.tls !== undefined && p.listen.https === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['listen', 'https'],
        message: 'tls is set but no https port is: add listen.https',
      });
    if (p.mode === 'container' && p.binary !== 'nginx')
      ctx.addIssue({
        code: 'custom',
        path: ['binary'],
        message: 'only used by mode: host (mode: container runs nginx from proxy.image)',
      });
    if (p.listen.https !== undefined && p.listen.https === p.listen.http)
      ctx.addIssue({
        code: 'custom',
        path: ['listen', 'https'],
        message: 'same as listen.http; each needs its own port',
      });
    if (p.listen.preview !== undefined && (p.listen.preview === p.listen.http || p.listen.preview === p.listen.https))
      ctx.addIssue({
        code: 'custom',
        path: ['listen', 'preview'],
        message: 'same as another listen port; the preview listener needs its own port',
      });
  });

export const proxySchema = z.discriminatedUnion('kind', [builtinProxySchema, nginxProxySchema], {
  error: (iss) => (iss.code === 'invalid_union' ? 'expected kind: builtin or kind: nginx' : undefined),
});

export type Route = z.output<typeof routeSchema>;
export type ProxyConfig = z.output<typeof proxySchema>;
export type NginxProxyConfig = z.output<typeof nginxProxySchema>;
export type BuiltinProxyConfig = z.output<typeof builtinProxySchema>;
