/**
 * up: bring this machine back to what state.json records (after a reboot, or any loss): the shared
 * services, the proxy on its saved routing, the live colour's recorded release and the other colour
 * only if it was recorded warm. It never changes state.json or .current-env.
 */
import { COLOURS } from '../config/schema.js';
import type { Action, Plan } from './actions.js';
import type { Facts } from './facts.js';
import { operationNotes } from './notes.js';

/** What users read while `up` starts the live colour. */
export const STARTING_MESSAGE = 'Starting up: back in a moment.';

export interface UpInput {
  /** shared: services are configured and the runtime can start them. */
  shared: boolean;
  /** The runtime restarts exited services itself (Docker), so there is no supervisor to start. */
  selfRestarting: boolean;
}

export function assembleUp(f: Facts, i: UpInput): Plan {
  const s = f.state;
  const live = s?.active ?? null;
  const notes = operationNotes(f);
  const actions: Action[] = [
    {
      kind: 'start-shared',
      title: 'Starting shared services',
      ...(i.shared ? {} : { skip: 'none configured (shared:)' }),
    },
  ];
  if (!s || live === null) {
    notes.push(s ? 'no colour is live (after `down`): nothing to bring up' : 'nothing was ever deployed here');
    return { command: 'up', from: null, to: null, release: null, notes, actions };
  }
  // The live colour is down: a proxy started now answers 503 (the maintenance page) until it is up.
  const hold = !f.running[live] && s.colours[live].release ? { hold: STARTING_MESSAGE } : {};
  actions.push({ kind: 'start-proxy', title: 'Starting proxy', ...hold });
  for (const c of [live, ...COLOURS.filter((x) => x !== live)]) {
    const rec = s.colours[c];
    const title = `Starting ${c}${c === live ? ' (live)' : ''}`;
    const body = { kind: 'revive' as const, colour: c, release: rec.release ?? '', live: c === live, title };
    const cold = c !== live && rec.status !== 'standby';
    if (cold) actions.push({ ...body, skip: `${rec.status}: only a warm colour is started` });
    else if (!rec.release) actions.push({ ...body, skip: 'no release recorded' });
    else if (f.running[c]) actions.push({ ...body, skip: `already running (release ${rec.release})` });
    else actions.push(body);
  }
  actions.push({
    kind: 'supervise',
    title: 'Starting the supervisor',
    ...(i.selfRestarting ? { skip: "the runtime restarts exited services itself (Docker's restart policies)" } : {}),
  });
  return { command: 'up', from: null, to: live, release: s.colours[live].release, notes, actions };
}
