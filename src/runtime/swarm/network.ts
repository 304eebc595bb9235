/**
 * The project's overlay network on the swarm, `<app>-net` (the name the Docker runtime gives its
 * bridge): attachable (so a one-off container, a later migration or the edge proxy, can join it),
 * labelled with the app. Created on the first start, kept between deploys like the bridge is.
 */
import type Docker from 'dockerode';
import { SwitchyardError } from '../../errors.js';
import { apiMessage, statusOf } from '../docker/index.js';
import { managerCall } from './client.js';
import { LABEL } from '../docker/index.js';

export const overlayName = (app: string): string => `${app}-net`;

export async function ensureOverlay(manager: Docker, app: string): Promise<string> {
  const name = overlayName(app);
  try {
    const info = (await managerCall(manager, `inspect network ${name}`, () => manager.getNetwork(name).inspect())) as {
      Driver?: string;
    };
    if (info.Driver !== 'overlay')
      throw new SwitchyardError(
        'START_FAILED',
        `network ${name} exists on the swarm manager but is a ${info.Driver ?? '?'} network, not an overlay`,
        { hint: `remove it (\`docker network rm ${name}\` on the manager) so switchyard can create the overlay` },
      );
    return name;
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
  }
  try {
    await managerCall(manager, `create network ${name}`, () =>
      manager.createNetwork({
        Name: name,
        Driver: 'overlay',
        Attachable: true,
        CheckDuplicate: true,
        Labels: { [LABEL.app]: app },
      }),
    );
  } catch (e) {
    // Another switchyard command created it meanwhile: fine.
    if (statusOf(e) === 409) return name;
    throw new SwitchyardError('START_FAILED', `could not create the overlay network ${name}: ${apiMessage(e)}`, {
      cause: e,
    });
  }
  return name;
}
