/**
 * Calls to the swarm manager's Engine API: bounded like every Docker call, and a manager that does
 * not answer is reported as such, naming its address (the Docker runtime's message names
 * DOCKER_HOST, which is not where the manager is).
 */
import type Docker from 'dockerode';
import { SwitchyardError, errorMessage } from '../../errors.js';
import { API_TIMEOUT_MS, isConnectError, withTimeout } from '../docker/index.js';

/** Where the client points: `unix:///run/...sock` or `tcp://host:port`, for messages. */
export function managerTarget(docker: Docker): string {
  const m = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown; protocol?: unknown };
  if (typeof m.socketPath === 'string') return `unix://${m.socketPath}`;
  if (typeof m.host === 'string')
    return `${typeof m.protocol === 'string' ? m.protocol : 'tcp'}://${m.host}${m.port ? `:${String(m.port)}` : ''}`;
  return 'the configured address';
}

/** One manager API call: bounded; connection failures become DOCKER_UNREACHABLE, others are rethrown as they are. */
export async function managerCall<T>(
  docker: Docker,
  what: string,
  fn: () => Promise<T>,
  ms = API_TIMEOUT_MS,
): Promise<T> {
  try {
    return await withTimeout(fn(), ms, what);
  } catch (e) {
    if (!isConnectError(e)) throw e;
    const target = managerTarget(docker);
    throw new SwitchyardError('DOCKER_UNREACHABLE', `cannot reach the swarm manager at ${target}: ${errorMessage(e)}`, {
      cause: e,
      hint: `check that the manager's engine runs and is a swarm manager (\`docker -H ${target} node ls\`)`,
    });
  }
}
