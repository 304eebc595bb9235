/**
 * `runtime: swarm` from switchyard.yml (issue 13, docs/swarm.md): the clients createSwarmRuntime
 * needs, made from the `swarm:` section. The manager from `swarm.manager` (unix://, tcp:// with the
 * `tls` files, ssh://), else DOCKER_HOST or the local socket as the Docker runtime reaches its
 * engine; the builder (this machine's engine, where images are built and pushed from) as the Docker
 * runtime reaches it.
 *
 * createRuntime stays synchronous (every command makes one, most never touch the runtime): a
 * dockerode client connects per request anyway, so the clients and the runtime are made at once,
 * and the runtime's operations first make sure, once per command, that the manager answers and
 * manages the swarm. One that does not is DOCKER_UNREACHABLE naming its address, with a hint; a
 * failed check is not kept, the next call tries again.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type Docker from 'dockerode';
import { managerAddress, type ManagerAddress, type SwarmConfig, type SwarmTls } from '../../config/swarm-schema.js';
import { SwitchyardError, errorMessage } from '../../errors.js';
import { API_TIMEOUT_MS, unreachable, withTimeout } from '../docker/index.js';
import type { Runtime, RuntimeContext } from '../types.js';
import { createSwarmRuntime } from './index.js';

/**
 * dockerode by a name the bundler cannot see, as in runtime/docker/client.ts (it pulls in ssh2's
 * native addons); required (it is CommonJS) so that the runtime can be made synchronously.
 */
const DOCKERODE: string = 'dockerode';
const loadDockerode = (): typeof Docker => createRequire(import.meta.url)(DOCKERODE) as typeof Docker;

/** A local socket or a tcp port answers a ping at once when the engine is up; ssh first has its handshake. */
const PING_TIMEOUT_MS = 5_000;
const SSH_PING_TIMEOUT_MS = 15_000;
const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * docker-modem starts from DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH of the process
 * whatever it is given (a DOCKER_HOST=tcp://... wins over a socketPath): every one of those options
 * is set here, so that only switchyard.yml decides where a configured manager is.
 */
const NOTHING_FROM_ENV = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  timeout: undefined,
  sshOptions: undefined,
} satisfies Docker.DockerOptions;

/** The TLS files of a tcp:// manager, relative to the project folder; one that cannot be read is a config error. */
function readTls(tls: SwarmTls, projectDir: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const read = (k: 'ca' | 'cert' | 'key') => {
    const file = path.resolve(projectDir, tls[k]);
    try {
      return readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : errorMessage(e);
      throw new SwitchyardError('CONFIG_INVALID', `swarm.tls.${k}: cannot read ${file}: ${why}`, {
        cause: e,
        hint: 'fix swarm.tls in switchyard.yml (its paths are relative to the project folder)',
      });
    }
  };
  return { ca: read('ca'), cert: read('cert'), key: read('key') };
}

/** This machine's engine as the Docker runtime reaches it (runtime/docker/client.ts createClient). */
function localClient(env: NodeJS.ProcessEnv): Docker {
  const Dockerode = loadDockerode();
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return new Dockerode({ socketPath: host.slice('unix://'.length) });
  if (!host) return new Dockerode({ socketPath: DEFAULT_SOCKET });
  return new Dockerode();
}

function clientFor(a: ManagerAddress, swarm: SwarmConfig, projectDir: string, env: NodeJS.ProcessEnv): Docker {
  const Dockerode = loadDockerode();
  switch (a.kind) {
    case 'unix':
      return new Dockerode({ ...NOTHING_FROM_ENV, socketPath: a.path });
    case 'tcp': {
      const opts = { ...NOTHING_FROM_ENV, host: a.host, port: a.port, pathPrefix: '/' };
      return new Dockerode(
        swarm.tls ? { ...opts, protocol: 'https', ...readTls(swarm.tls, projectDir) } : { ...opts, protocol: 'http' },
      );
    }
    case 'ssh':
      return new Dockerode({
        ...NOTHING_FROM_ENV,
        protocol: 'ssh',
        host: a.host,
        port: a.port ?? 22,
        username: a.user,
        pathPrefix: '/',
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      } as Docker.DockerOptions);
  }
}

/** A manager's client, not connected yet, and how messages name it. */
interface Manager {
  docker: Docker;
  target: string;
  address?: ManagerAddress;
}

/** The manager's client (not connected: dockerode connects per request). Without swarm.manager, this machine's. */
function managerClient(swarm: SwarmConfig, projectDir: string, env: NodeJS.ProcessEnv): Manager {
  if (swarm.manager === undefined) {
    const host = env.DOCKER_HOST;
    return { docker: localClient(env), target: host && host.length > 0 ? host : `unix://${DEFAULT_SOCKET}` };
  }
  const address = managerAddress(swarm.manager);
  if (!address)
    throw new SwitchyardError('CONFIG_INVALID', `swarm.manager: cannot read ${JSON.stringify(swarm.manager)}`, {
      hint: 'expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host[:port]',
    });
  return { docker: clientFor(address, swarm, projectDir, env), target: swarm.manager, address };
}

/** DOCKER_UNREACHABLE for the manager: the Docker runtime's words for why, with the manager's address and hint. */
function managerUnreachable(e: unknown, m: Manager): SwitchyardError {
  const u = unreachable(e, m.target);
  const code = (e as { code?: unknown })?.code;
  const a = m.address;
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? u.hint
      : a === undefined
        ? 'start the engine, or point DOCKER_HOST (or swarm.manager in switchyard.yml) at a swarm manager'
        : a.kind === 'ssh'
          ? `check swarm.manager, that \`ssh ${a.port ? `-p ${a.port} ` : ''}${a.user}@${a.host} docker node ls\` ` +
            'works with the keys of the ssh agent (SSH_AUTH_SOCK), and that the engine there is a swarm manager'
          : `check swarm.manager in switchyard.yml, and that the engine there runs and is a swarm manager ` +
            `(\`docker -H ${m.target} node ls\`)`;
  return new SwitchyardError('DOCKER_UNREACHABLE', u.message.replace('the Docker engine', 'the swarm manager'), {
    cause: e,
    ...(hint === undefined ? {} : { hint }),
  });
}

/** The manager answers a ping, and manages the swarm (an engine outside a swarm, or a worker, does not). */
async function verifyManager(m: Manager): Promise<void> {
  try {
    await withTimeout(m.docker.ping(), m.address?.kind === 'ssh' ? SSH_PING_TIMEOUT_MS : PING_TIMEOUT_MS, 'ping');
  } catch (e) {
    throw managerUnreachable(e, m);
  }
  const info = (await withTimeout(m.docker.info(), API_TIMEOUT_MS, 'info')) as {
    Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
  };
  if (info.Swarm?.ControlAvailable === true) return;
  const state = info.Swarm?.LocalNodeState || 'inactive';
  const what = state === 'active' ? 'a swarm worker, not a manager' : `not a swarm manager (its swarm state: ${state})`;
  throw new SwitchyardError('DOCKER_UNREACHABLE', `no swarm manager at ${m.target}: the engine there is ${what}`, {
    hint:
      state === 'active'
        ? 'point swarm.manager at a manager node (`docker node ls` on a manager lists them)'
        : 'point swarm.manager at a manager node, or make this one a manager (`docker swarm init`)',
  });
}

/**
 * A client of the manager, which answered and manages the swarm; `tls` paths are relative to
 * `projectDir`. Without swarm.manager: this machine's engine (DOCKER_HOST, else the local socket).
 */
export async function connectManager(
  swarm: SwarmConfig,
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Docker> {
  const m = managerClient(swarm, projectDir, env);
  await verifyManager(m);
  return m.docker;
}

/**
 * The swarm runtime of a `runtime: swarm` config, for createRuntime: made at once, without a
 * connection (a command that never touches the runtime runs without a swarm); its operations first
 * check the manager, once. A tls file that cannot be read is CONFIG_INVALID, at once (the config
 * loader already checked it is there).
 */
export function createSwarmRuntimeFromConfig(ctx: RuntimeContext, env: NodeJS.ProcessEnv = process.env): Runtime {
  const swarm = ctx.config.swarm;
  if (ctx.config.runtime !== 'swarm' || swarm === undefined)
    throw new SwitchyardError('CONFIG_INVALID', 'runtime: swarm needs the swarm: section (swarm.registry at least)', {
      hint: 'add swarm: { registry: "host:port" } to switchyard.yml',
    });
  const manager = managerClient(swarm, ctx.paths.root, env);
  // Without swarm.manager the manager is this machine's engine, which also builds.
  const builder = swarm.manager === undefined ? manager.docker : localClient(env);
  const opts = {
    manager: manager.docker,
    builder,
    registry: swarm.registry,
    constraints: swarm.constraints,
    edgeConstraints: swarm.edge.constraints,
    edgeBase: swarm.edge.base,
  };
  const inner = createSwarmRuntime(ctx, opts);

  let checked: Promise<void> | undefined;
  const after = <T>(op: () => Promise<T>): Promise<T> => {
    checked ??= verifyManager(manager).catch((e: unknown) => {
      checked = undefined;
      throw e;
    });
    return checked.then(op);
  };
  // The Runtime's own operations check the manager first; anything else the swarm runtime offers
  // (its optional methods) is passed on as it is, and reports an unreachable manager itself.
  return {
    ...inner,
    prepare: (o) => after(() => inner.prepare(o)),
    start: (colour, release, o) => after(() => inner.start(colour, release, o)),
    current: (colour) => after(() => inner.current(colour)),
    status: (colour) => after(() => inner.status(colour)),
    stop: (colour, o) => after(() => inner.stop(colour, o)),
    endpoints: (colour) => after(() => inner.endpoints(colour)),
    plannedEndpoints: (colour) => after(() => inner.plannedEndpoints(colour)),
    exec: (colour, service, command, o) => after(() => inner.exec(colour, service, command, o)),
    hasRelease: (id) => after(() => inner.hasRelease(id)),
    pruneReleases: (keep, protect) => after(() => inner.pruneReleases(keep, protect)),
  };
}
