/**
 * Connecting to the Docker engine (DOCKER_HOST, else /var/run/docker.sock) through dockerode, and
 * turning the engine's failures into SwitchyardErrors. An unreachable engine is the commonest
 * failure on a fresh machine, so its message names the socket and how to start the engine.
 */
import type Docker from 'dockerode';
import { SwitchyardError, errorMessage } from '../../errors.js';

/**
 * dockerode is loaded on first use, by a name the bundler cannot see: it pulls in ssh2 (native
 * addons esbuild cannot bundle) and ~1 MB of code that process-runtime commands never need, and
 * CLI start-up time is most of a rollback's wall time. It resolves from node_modules at run time.
 */
const DOCKERODE: string = 'dockerode';
let dockerode: Promise<typeof Docker> | undefined;
async function loadDockerode(): Promise<typeof Docker> {
  dockerode ??= (import(DOCKERODE) as Promise<{ default: typeof Docker }>).then((m) => m.default);
  return dockerode;
}

/** A ping is local and instant when the engine is up; a hung socket must not hang a deploy. */
export const PING_TIMEOUT_MS = 5_000;
/** Ordinary API calls (inspect, create, list): generous, but bounded. */
export const API_TIMEOUT_MS = 60_000;

export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Where we connect, for messages: the DOCKER_HOST value or the default socket. */
export function dockerTarget(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST && env.DOCKER_HOST.length > 0 ? env.DOCKER_HOST : `unix://${DEFAULT_SOCKET}`;
}

/** dockerode reads DOCKER_HOST itself (unix://, tcp://, ssh://) through docker-modem. */
export async function createClient(env: NodeJS.ProcessEnv = process.env): Promise<Docker> {
  const Dockerode = await loadDockerode();
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return new Dockerode({ socketPath: host.slice('unix://'.length) });
  if (!host) return new Dockerode({ socketPath: DEFAULT_SOCKET });
  return new Dockerode();
}

const CONNECT_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
]);

export function isConnectError(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && CONNECT_CODES.has(code);
}

export function unreachable(e: unknown, target = dockerTarget()): SwitchyardError {
  const code = (e as { code?: unknown })?.code;
  const why =
    code === 'EACCES' || code === 'EPERM'
      ? 'permission denied'
      : code === 'ENOENT'
        ? 'no such socket'
        : errorMessage(e);
  return new SwitchyardError('DOCKER_UNREACHABLE', `cannot reach the Docker engine at ${target}: ${why}`, {
    cause: e,
    hint:
      code === 'EACCES' || code === 'EPERM'
        ? 'run switchyard as a user in the docker group (or as root)'
        : 'start the engine (`sudo dockerd`, `systemctl start docker`, or run scripts/setup-infra.sh)' +
          ', or point DOCKER_HOST at a running one',
  });
}

/** HTTP status of a Docker API error (404 no such object, 409 conflict, 304 not modified). */
export function statusOf(e: unknown): number | undefined {
  const s = (e as { statusCode?: unknown })?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The engine's own message ("No such image: x"), without dockerode's "(HTTP code 404) ..." prefix. */
export function apiMessage(e: unknown): string {
  const json = (e as { json?: { message?: unknown } })?.json;
  if (json && typeof json.message === 'string') return json.message;
  return errorMessage(e).replace(/^\(HTTP code \d+\)\s*[\w ]*-\s*/, '');
}

/** Rejects with TIMEOUT when `p` takes longer than `ms`; the engine call itself is left to finish. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SwitchyardError('TIMEOUT', `Docker engine: ${what} did not answer within ${Math.round(ms / 1000)} s`, {
            hint: 'check the engine (`docker info`) and its log',
          }),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One Docker API call: bounded, with connection failures reported as DOCKER_UNREACHABLE. Other
 * API errors are rethrown as they are, for the caller to judge (a 404 is often fine).
 */
export async function call<T>(what: string, fn: () => Promise<T>, ms = API_TIMEOUT_MS): Promise<T> {
  try {
    return await withTimeout(fn(), ms, what);
  } catch (e) {
    if (isConnectError(e)) throw unreachable(e);
    throw e;
  }
}

/** A client that has answered a ping; DOCKER_UNREACHABLE (naming the socket) otherwise. */
export async function connect(env: NodeJS.ProcessEnv = process.env): Promise<Docker> {
  const docker = await createClient(env);
  try {
    await withTimeout(docker.ping(), PING_TIMEOUT_MS, 'ping');
  } catch (e) {
    throw unreachable(e, dockerTarget(env));
  }
  return docker;
}
