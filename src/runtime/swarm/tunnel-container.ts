/**
 * The tunnel's relay container on the swarm manager (tunnel.ts uses it): switchyard's own image
 * (edge-image.ts) pulled if the manager lacks it, a container on the project's overlay running
 * `tunnel-relay`, attached (stdin, stdout, stderr, hijacked) before it starts so no byte is lost,
 * and its removal. AutoRemove: once its stdin closes (the CLI closed it, or the CLI died and the
 * engine closed it), the relay exits and the engine removes the container.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { SwitchyardError, errorMessage } from '../../errors.js';
import { LABEL, apiMessage, sleep, statusOf } from '../docker/index.js';
import { managerCall, managerTarget } from './client.js';

/** The role label of tunnel containers (`switchyard.role=tunnel`). */
export const TUNNEL_ROLE = 'tunnel';
/** Pulling the image onto the manager: a few hundred MB from a registry nearby. */
const PULL_TIMEOUT_MS = 10 * 60_000;

export interface RelayContainer {
  id: string;
  /** The hijacked attach: write to the relay's stdin, read its multiplexed stdout and stderr. */
  socket: Duplex;
}

const failed = (what: string, e: unknown): unknown =>
  e instanceof SwitchyardError ? e : new SwitchyardError('START_FAILED', `${what}: ${apiMessage(e)}`, { cause: e });

/** Pulls `image` onto the manager unless it is there, following the progress to its end. */
export async function ensureImageOnManager(manager: Docker, image: string, signal?: AbortSignal): Promise<void> {
  const target = managerTarget(manager);
  try {
    await managerCall(manager, `inspect ${image}`, () => manager.getImage(image).inspect());
    return;
  } catch (e) {
    if (statusOf(e) !== 404) throw failed(`could not inspect the image ${image} on the swarm manager at ${target}`, e);
  }
  const pull = async (): Promise<string | undefined> => {
    const stream = (await manager.pull(image, signal ? { abortSignal: signal } : {})) as NodeJS.ReadableStream;
    return new Promise((resolve, reject) => {
      let error: string | undefined;
      manager.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : resolve(error)),
        (ev: { error?: string; errorDetail?: { message?: string } }) => {
          if (ev.error) error = ev.errorDetail?.message ?? ev.error;
        },
      );
    });
  };
  let words: string | undefined;
  try {
    words = await managerCall(manager, `pull ${image}`, pull, PULL_TIMEOUT_MS);
  } catch (e) {
    if (signal?.aborted)
      throw new SwitchyardError('ABORTED', `pulling ${image} onto the swarm manager was interrupted`);
    if (e instanceof SwitchyardError) throw e;
    words = apiMessage(e) || errorMessage(e);
  }
  if (words !== undefined)
    throw new SwitchyardError('START_FAILED', `the swarm manager at ${target} could not pull ${image}: ${words}`, {
      hint:
        'check that the manager reaches the registry ' +
        '(a registry without TLS needs --insecure-registry on its dockerd)',
    });
}

/** Creates the relay container on `network`, attaches to it, starts it. */
export async function startRelayContainer(
  manager: Docker,
  o: { app: string; image: string; network: string },
): Promise<RelayContainer> {
  const name = `${o.app}-tunnel-${randomBytes(4).toString('hex')}`;
  const target = managerTarget(manager);
  let container: Docker.Container;
  try {
    container = await managerCall(manager, `create container ${name}`, () =>
      manager.createContainer({
        name,
        Image: o.image,
        Cmd: ['tunnel-relay'],
        OpenStdin: true,
        StdinOnce: true,
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Labels: { [LABEL.app]: o.app, [LABEL.role]: TUNNEL_ROLE },
        HostConfig: {
          AutoRemove: true,
          NetworkMode: o.network,
          // The traffic goes through stdout: keep it out of the manager's container logs.
          LogConfig: { Type: 'none', Config: {} },
        },
      }),
    );
  } catch (e) {
    throw failed(`could not create the tunnel container on the swarm manager at ${target}`, e);
  }
  let socket: Duplex | undefined;
  try {
    socket = (await managerCall(manager, `attach to ${name}`, () =>
      container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }),
    )) as Duplex;
    await managerCall(manager, `start ${name}`, () => container.start());
    return { id: container.id, socket };
  } catch (e) {
    socket?.destroy();
    await removeRelayContainer(manager, container.id).catch(() => undefined);
    throw failed(`could not start the tunnel container ${name} on the swarm manager at ${target}`, e);
  }
}

/** Makes sure the container is gone: a moment for AutoRemove, then a forced removal; gone already is fine. */
export async function removeRelayContainer(manager: Docker, id: string, graceMs = 0): Promise<void> {
  const c = manager.getContainer(id);
  const gone = async (): Promise<boolean> =>
    managerCall(manager, `inspect container ${id}`, () => c.inspect(), 10_000).then(
      () => false,
      (e: unknown) => {
        if (statusOf(e) === 404) return true;
        throw e;
      },
    );
  const deadline = performance.now() + graceMs;
  while (performance.now() < deadline) {
    if (await gone()) return;
    await sleep(100);
  }
  try {
    await managerCall(manager, `remove container ${id}`, () => c.remove({ force: true }), 10_000);
  } catch (e) {
    // 404: gone; 409: the engine is already removing it (AutoRemove), waited for below.
    if (statusOf(e) !== 404 && statusOf(e) !== 409) throw e;
  }
  const until = performance.now() + 10_000;
  while (!(await gone())) {
    if (performance.now() > until)
      throw new SwitchyardError('START_FAILED', `the tunnel container ${id.slice(0, 12)} is still on the manager`);
    await sleep(100);
  }
}
