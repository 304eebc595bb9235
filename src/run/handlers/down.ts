/** Handlers of `down`: stop the proxy, the colours and the shared services; forget the active colour. */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Action } from '../../plan/actions.js';
import { readState, withColourStatus, writeState } from '../../state/state.js';
import type { Exec } from '../exec.js';
import type { StepHandle } from '../reporter.js';

type Of<K extends Action['kind']> = Extract<Action, { kind: K }>;

function done(x: Exec, h: StepHandle, what: string): void {
  x.done.push(what);
  h.ok(what);
}

export async function stopProxy(x: Exec, _a: Of<'stop-proxy'>, h: StepHandle): Promise<void> {
  // First the marker, so that the supervisor does not start it again (run/proxy-keeper.ts).
  await fs.mkdir(path.dirname(x.e.paths.proxyStopped), { recursive: true, mode: 0o700 });
  await fs.writeFile(x.e.paths.proxyStopped, `${new Date().toISOString()}\n`, { mode: 0o600 });
  if (await x.e.proxy.stop()) done(x, h, 'stopped the proxy');
  else h.ok('it was not running');
}

export async function stopColour(x: Exec, a: Of<'stop-colour'>, h: StepHandle): Promise<void> {
  await x.e.runtime.stop(a.colour);
  const state = await readState(x.e.paths);
  if (state) await writeState(x.e.paths, withColourStatus(state, a.colour, 'stopped'));
  done(x, h, `stopped ${a.colour}`);
}

export async function stopShared(x: Exec, a: Of<'stop-shared'>, h: StepHandle): Promise<void> {
  await x.e.runtime.stopShared?.();
  done(x, h, a.volumesKept ? 'stopped the shared services (their volumes are kept)' : 'stopped the shared services');
}

export async function removeVolumes(x: Exec, _a: Of<'remove-volumes'>, h: StepHandle): Promise<void> {
  const gone = (await x.e.runtime.removeVolumes?.()) ?? [];
  done(x, h, gone.length ? `deleted volumes ${gone.join(', ')}` : 'no volumes to delete');
}

export async function forgetActive(x: Exec, _a: Of<'forget-active'>, h: StepHandle): Promise<void> {
  // The proxy starts clean next time (no colour active until init activates one).
  await fs.rm(x.e.paths.proxyState, { force: true });
  const state = await readState(x.e.paths);
  if (state) await writeState(x.e.paths, { ...state, active: null });
  h.ok(state ? 'no colour is active' : 'no state.json to update');
}
