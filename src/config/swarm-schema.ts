/**
 * The `swarm:` section of switchyard.yml (runtime: swarm, issue 13; docs/swarm.md): where the
 * manager is, which registry the nodes pull from, where the colours and the edge proxy run. Part of
 * the config schema (schema.ts); rules.ts ties the section to `runtime: swarm`, files.ts checks the
 * TLS files, and runtime/swarm/connect.ts reads the manager address with managerAddress().
 */
import * as z from 'zod';

/** How to reach a manager node's engine, as switchyard.yml gives it. */
export type ManagerAddress =
  | { kind: 'unix'; path: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'ssh'; user: string; host: string; port?: number };

const HOST = '[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?';
const UNIX = /^unix:\/\/(\/\S+)$/;
const TCP = new RegExp(`^tcp://(${HOST}):(\\d{1,5})/?$`);
const SSH = new RegExp(`^ssh://([A-Za-z0-9_][A-Za-z0-9_.-]*)@(${HOST})(?::(\\d{1,5}))?/?$`);

const validPort = (p: number) => p >= 1 && p <= 65535;

/** The parts of a manager address, or undefined when it is none of the three forms. */
export function managerAddress(s: string): ManagerAddress | undefined {
  const u = UNIX.exec(s);
  if (u) return { kind: 'unix', path: u[1] as string };
  const t = TCP.exec(s);
  if (t) {
    const port = Number(t[2]);
    return validPort(port) ? { kind: 'tcp', host: t[1] as string, port } : undefined;
  }
  const h = SSH.exec(s);
  if (h) {
    if (h[3] === undefined) return { kind: 'ssh', user: h[1] as string, host: h[2] as string };
    const port = Number(h[3]);
    return validPort(port) ? { kind: 'ssh', user: h[1] as string, host: h[2] as string, port } : undefined;
  }
  return undefined;
}

const MANAGER_FORMS = 'expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]';

const manager = z
  .string()
  .refine((s) => managerAddress(s) !== undefined, MANAGER_FORMS)
  .meta({
    description:
      "how to reach a manager node's Docker engine: `unix:///path/to/docker.sock`, `tcp://host:port` (with " +
      '`tls` across a network: without it the API is plain HTTP) or `ssh://user@host[:port]` (through the ssh ' +
      'agent, `SSH_AUTH_SOCK`; the user runs `docker system dial-stdio` there). `${VAR}` works as anywhere',
    'x-default': 'DOCKER_HOST, else the local socket',
  });

const REGISTRY = new RegExp(`^(${HOST})(?::(\\d{1,5}))?$`);

/** `host[:port]`: the registry part of an image name, so no scheme, no path, no credentials. */
const registry = z
  .string()
  .superRefine((s, ctx) => {
    const m = REGISTRY.exec(s);
    if (m && (m[2] === undefined || validPort(Number(m[2])))) return;
    const why = s.includes('://')
      ? 'no scheme: the registry is named as in an image name'
      : s.includes('/')
        ? 'no path: the registry is named as in an image name'
        : s.includes('@')
          ? 'no credentials: log the builder in with `docker login` instead'
          : m
            ? 'the port must be 1-65535'
            : 'a host name or address, and optionally a port';
    ctx.addIssue({ code: 'custom', message: `expected host[:port], e.g. 10.77.0.1:5000 (${why})` });
  })
  .meta({
    description:
      '`host[:port]` of the registry the nodes pull from and this machine pushes to (no scheme, no path), ' +
      'e.g. `10.77.0.1:5000`; images are deployed pinned by the digest it returns',
  });

/**
 * A placement constraint as `docker service create --constraint` takes it: `node.role==worker`,
 * `node.labels.zone!=b`, `engine.labels.x==y`. The engine judges the attribute; here only its form.
 */
const constraint = z
  .string()
  .regex(
    /^(node|engine)\.[A-Za-z0-9_.-]+\s*(==|!=)\s*[^\s=!](.*\S)?$/,
    'expected a placement constraint such as "node.role==worker" or "node.labels.zone!=b" (an attribute, == or !=, ' +
      'a value)',
  );

const constraints = (description: string) => z.array(constraint).default([]).meta({ description });

const tlsFile = (what: string) =>
  z
    .string()
    .min(1)
    .meta({ description: `${what} (PEM), relative to the project folder` });

export const swarmSchema = z
  .object({
    manager: manager.optional(),
    tls: z
      .object({
        ca: tlsFile("the CA certificate the manager's certificate must be signed by"),
        cert: tlsFile("this client's certificate"),
        key: tlsFile("this client's private key"),
      })
      .strict()
      .optional()
      .meta({
        description:
          'with a `tcp://` manager: TLS with client certificates, as `dockerd --tlsverify` wants (`{ ca, cert, key }`)',
        'x-default': 'plain HTTP',
      }),
    registry,
    constraints: constraints(
      'placement constraints for every colour service (`node.role==worker`, `node.labels.zone==a`), ' +
        'as `docker service create --constraint` takes them',
    ),
    edge: z
      .object({
        constraints: constraints(
          'placement constraints for the edge proxy (`node.labels.edge==true`); none: a proxy on every node',
        ),
        base: z
          .string()
          .min(1)
          .default('node:20-bookworm-slim')
          .meta({
            description:
              "the base of the image switchyard builds for its edge proxy (this switchyard's own code): any image " +
              'with Node.js >= 20 on PATH, present on the engine that builds (nothing is pulled)',
          }),
      })
      .strict()
      .default({ constraints: [], base: 'node:20-bookworm-slim' })
      .meta({
        description: 'where the edge proxy runs (one per node it may run on), and the base of its image',
        'x-default': 'every node, on node:20-bookworm-slim',
      }),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.tls === undefined) return;
    const kind = s.manager === undefined ? 'default' : managerAddress(s.manager)?.kind;
    // An address of no known form has its own problem already.
    if (kind === 'tcp' || kind === undefined) return;
    ctx.addIssue({
      code: 'custom',
      path: ['tls'],
      message:
        kind === 'default'
          ? 'tls needs the manager given as tcp://host:port (swarm.manager)'
          : `tls is for a tcp:// manager, not ${kind}:// (remove tls, or give manager: tcp://host:port)`,
    });
  });

export type SwarmConfig = z.output<typeof swarmSchema>;
export type SwarmTls = NonNullable<SwarmConfig['tls']>;
