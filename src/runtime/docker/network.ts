/** The app's user-defined bridge network: colour and shared containers reach each other by name on it. */
import type Docker from 'dockerode';
import { call, statusOf } from './client.js';
import { LABEL, networkName } from './names.js';

export async function ensureNetwork(docker: Docker, app: string): Promise<string> {
  const name = networkName(app);
  try {
    await call(`inspect network ${name}`, () => docker.getNetwork(name).inspect());
    return name;
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
  }
  try {
    await call(`create network ${name}`, () =>
      docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: { [LABEL.app]: app } }),
    );
  } catch (e) {
    // Another switchyard command created it meanwhile: fine.
    if (statusOf(e) !== 409) throw e;
  }
  return name;
}

/** Removes the network when no container uses it any more (down); false when it is still in use. */
export async function removeNetwork(docker: Docker, app: string): Promise<boolean> {
  try {
    await call(`remove network ${networkName(app)}`, () => docker.getNetwork(networkName(app)).remove());
    return true;
  } catch (e) {
    const s = statusOf(e);
    if (s === 404) return true;
    if (s === 403 || s === 409) return false;
    throw e;
  }
}
