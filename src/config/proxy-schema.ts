/**
 * The `proxy:` section of switchyard.yml: a union on `kind` (builtin | nginx). Part of the config
 * schema (schema.ts), kept apart because nginx brings many options of its own.
 */
import * as z from 'zod';
import { duration, httpPath, port } from './schema-prims.js';
import { previewPort, trafficFields } from './traffic-schema.js';
export const routeSchema = z
  .object({
    path: httpPath.meta({
      description:
        'the path prefix this route serves; the longest prefix wins (`/api` matches `/api` and `/api/x`, ' +
        'not `/apix`)',
    }),
    service: z.string().min(1).meta({ description: 'the service (a key of `services`) the requests go to' }),
  })
  .strict();

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

/** Whether the supervisor starts the proxy again when it dies between commands (issue 12, part 3). */
const proxyRestart = z
  .enum(['always', 'never'])
  .default('always')
  .meta({
    description:
      '`always`: while a colour is active, the supervisor starts the proxy again within a second when its process ' +
      'dies (built-in, or nginx `mode: host`; nginx `mode: container` is restarted by Docker: ' +
      '`--restart unless-stopped`), from its saved routing; `never`: it stays down until a command starts it ' +
      '(for a proxy kept by a service manager of your own)',
  });

/**
 * proxy.metrics: a listener of its own for monitoring. The built-in proxy serves Prometheus metrics
 * there (builtin/metrics.ts); nginx on one machine its stub_status page (nginx/stub-status.ts).
 * Absent: no listener, and the built-in proxy counts nothing for it. Config rule metricsFits
 * refuses it on swarm and on the proxy's other ports.
 */
const metricsSchema = z
  .object({
    listen: z
      .object({
        host: listenHost.meta({
          description:
            'address of the metrics listener: loopback by default; another address lets Prometheus scrape from ' +
            'elsewhere, and shows anyone who can reach it the traffic figures (built-in: requests per route and ' +
            'colour; nginx: connections and requests)',
        }),
        port: port.meta({
          description: 'port of the metrics listener (built-in: `GET /metrics`; nginx: `GET /stub_status`)',
        }),
      })
      .strict()
      .meta({ description: 'where the built-in proxy serves `GET /metrics`, or nginx `GET /stub_status`' }),
  })
  .strict()
  .optional()
  .meta({
    description:
      'a listener of its own for monitoring (off when absent). Built-in proxy: Prometheus metrics at ' +
      '`GET /metrics`: requests by colour, route and status class, latency, in-flight requests, WebSockets, ' +
      'switches, the active colour, the split, maintenance; summed over `workers`; read when the proxy starts. ' +
      'nginx: its `stub_status` page at `GET /stub_status` (connections and total requests, all colours ' +
      'together; for nginx-prometheus-exporter), applied by the next command that opens the proxy (a checked ' +
      'reload). Not on swarm (docs/traffic.md#metrics)',
  });

const builtinProxySchema = z
  .object({
    kind: z.literal('builtin').default('builtin').meta({
      description: '`builtin` (the Node proxy, needs nothing) or `nginx` (an nginx driven by switchyard)',
    }),
    listen: z
      .object({
        http: port.meta({ description: 'public port' }),
        host: listenHost.meta({ description: 'public address' }),
        ...previewPort,
      })
      .strict()
      .meta({ description: 'public port and address, and the port of the preview listener' }),
    routes: z.array(routeSchema).min(1).meta({
      description: '`{ path, service }`, longest prefix wins (`/api` matches `/api` and `/api/x`, not `/apix`)',
    }),
    /** Largest request body the proxy forwards; larger ones get 413. */
    maxBodySize: byteSize.default(DEFAULT_MAX_BODY_SIZE).meta({
      description:
        'built-in proxy: the largest request body it forwards (`"512k"`, `"10m"`, `"1g"`, a number of bytes, ' +
        '`0` = no limit); a larger one gets 413, at once when announced by Content-Length (before `100 Continue`), ' +
        'as soon as it gets there when chunked. Headers are capped at 16 KiB (431); a client has 15 s to send ' +
        'its headers and 120 s for the whole request (docs/security.md)',
      'x-default': '10m',
    }),
    /**
     * Processes serving traffic. 1: the daemon itself. More: the daemon forks that many workers that
     * share the listening ports and each apply every change before it is acknowledged. A change
     * takes effect when the proxy daemon next starts.
     */
    workers: z
      .number()
      .int()
      .min(1)
      .max(MAX_PROXY_WORKERS)
      .default(1)
      .meta({
        description:
          'built-in proxy: processes serving traffic. `1`: the daemon serves. `2`-`16`: the daemon forks that many ' +
          'workers that share the listening ports (node:cluster) and only controls them; use it on a machine with ' +
          'cores to spare (on 2 cores shared with the app it adds about 15% throughput and no latency gain, see ' +
          'Benchmarks). A switch or any other change returns only once every worker applied it; a worker that ' +
          'dies is replaced from the saved state; workers exit with the daemon. Read when the proxy starts: a ' +
          'changed value is reported by `status` and takes effect after `switchyard down` and `init`',
      }),
    restart: proxyRestart,
    metrics: metricsSchema,
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
    kind: z.literal('nginx').meta({
      description: '`builtin` (the Node proxy, needs nothing) or `nginx` (an nginx driven by switchyard)',
    }),
    /**
     * host: the nginx installed on this machine; container: the same nginx in a container `<app>-proxy` (needs runtime:
     * docker).
     */
    mode: z
      .enum(['host', 'container'])
      .default('host')
      .meta({
        description:
          'nginx: `host`: an nginx installed on this machine, which switchyard runs as its own instance with ' +
          'everything under `.switchyard/nginx/`; `container` (with `image`): the same instance in a container ' +
          '`<app>-proxy`, runtime docker only. On swarm nginx runs inside the edge service on every edge node: ' +
          'leave `mode` out',
      }),
    /**
     * mode: container: the image that provides nginx (no registry here: a locally built one such as
     * switchyard/base:bookworm).
     */
    image: z
      .string()
      .min(1)
      .default('nginx:stable')
      .meta({
        description:
          'nginx, `mode: container`: the image that provides nginx (without a registry, a locally built one ' +
          'such as `switchyard/base:bookworm`)',
      }),
    listen: z
      .object({
        http: port.meta({ description: 'public port' }),
        https: port.optional().meta({
          description:
            'nginx: the HTTPS port, with `tls: { cert, key }` (TLS termination with a Mozilla-intermediate-style ' +
            'profile; plain HTTP then answers 301 to https, and switchyard verifies switches through https)',
        }),
        host: listenHost.meta({ description: 'public address' }),
        ...previewPort,
      })
      .strict()
      .meta({ description: 'public port and address, the HTTPS port (nginx) and the port of the preview listener' }),
    /** Certificate and key files (PEM), relative to the project folder. */
    tls: z
      .object({
        cert: z
          .string()
          .min(1)
          .meta({ description: 'nginx: the certificate file (PEM), relative to the project folder' }),
        key: z
          .string()
          .min(1)
          .meta({ description: "nginx: the certificate's private key file (PEM), relative to the project folder" }),
      })
      .strict()
      .optional()
      .meta({
        description:
          'nginx: certificate and key files (PEM), relative to the project folder, for TLS termination; ' +
          'required with `listen.https`',
      }),
    routes: z.array(routeSchema).min(1).meta({
      description: '`{ path, service }`, longest prefix wins (`/api` matches `/api` and `/api/x`, not `/apix`)',
    }),
    binary: z
      .string()
      .min(1)
      .default('nginx')
      .meta({
        description:
          'nginx, `mode: host`: the nginx program to run (a name looked up in PATH, or a path); on swarm, the ' +
          'program inside the edge image',
      }),
    /** Worker user when switchyard runs as root (default: the user switchyard runs as; nginx/control.ts workerUser). */
    user: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'expected a user name')
      .optional()
      .meta({
        description: 'nginx: the worker user when switchyard runs as root',
        'x-default': 'the user switchyard runs as',
      }),
    workerProcesses: z
      .union([z.literal('auto'), z.number().int().min(1).max(256)])
      .default('auto')
      .meta({
        description: "nginx: worker processes (nginx's `worker_processes`): `auto` (one per CPU core) or 1-256",
      }),
    workerConnections: z
      .number()
      .int()
      .min(16)
      .max(1_000_000)
      .default(1024)
      .meta({ description: "nginx: simultaneous connections per worker process (nginx's `worker_connections`)" }),
    /** Idle keep-alive connections nginx keeps per upstream (colour of a service). */
    keepalive: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(64)
      .meta({ description: 'nginx: idle upstream connections kept per colour of a service' }),
    /** Below the usual backend idle timeout (Node: 5 s), so nginx never reuses a connection the backend is closing. */
    upstreamKeepaliveTimeout: duration.default(4_000).meta({
      description:
        "nginx: how long an idle upstream connection is kept; below Node's 5 s so nginx never reuses a connection " +
        'the app is closing',
      'x-default': '4s',
    }),
    clientMaxBodySize: nginxSize.default('10m').meta({
      description:
        "nginx: the largest request body nginx forwards (nginx's `client_max_body_size`): " +
        '`"512k"`, `"10m"`, `"1g"`, a number of bytes, `0` = no limit; a larger one gets 413',
      'x-default': '10m',
    }),
    connectTimeout: duration.default(5_000).meta({
      description: "nginx: how long nginx waits to connect to the app (nginx's `proxy_connect_timeout`)",
      'x-default': '5s',
    }),
    readTimeout: duration.default(60_000).meta({
      description: "nginx: how long nginx waits between two reads of the app's response (nginx's `proxy_read_timeout`)",
      'x-default': '60s',
    }),
    sendTimeout: duration.default(60_000).meta({
      description:
        "nginx: how long nginx waits between two writes of a request to the app (nginx's `proxy_send_timeout`)",
      'x-default': '60s',
    }),
    restart: proxyRestart,
    metrics: metricsSchema,
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
export type MetricsConfig = z.output<typeof metricsSchema>;
