/** down as a list of actions: stop the proxy and both colours (or one idle colour); data stays. */
import { COLOURS, type Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { Action, Plan } from './actions.js';
import type { Facts } from './facts.js';
import { operationNotes } from './notes.js';

export interface DownInput {
  colour?: Colour;
  shared: boolean;
  volumes: boolean;
  yes: boolean;
  /** What the runtime can do (the process runtime has no shared services or volumes). */
  canStopShared: boolean;
  canRemoveVolumes: boolean;
}

export function assembleDown(f: Pick<Facts, 'state' | 'lockHeld' | 'interrupted'>, i: DownInput): Plan {
  const active = f.state?.active ?? null;
  const notes = operationNotes(f);
  if (i.colour) {
    if (active === i.colour) {
      throw new SwitchyardError('USAGE', `${i.colour} is the active colour; stopping it would take the app offline`, {
        hint: 'use `switchyard down` (no colour) to stop everything, or switch traffic away first',
      });
    }
    const actions: Action[] = [{ kind: 'stop-colour', colour: i.colour, title: `Stopping ${i.colour}` }];
    return { command: 'down', from: active, to: null, release: null, notes, actions };
  }
  const actions: Action[] = [
    { kind: 'stop-proxy', title: 'Stopping the proxy' },
    ...COLOURS.map((c): Action => ({ kind: 'stop-colour', colour: c, title: `Stopping ${c}` })),
  ];
  if ((i.shared || i.volumes) && i.canStopShared) {
    actions.push({ kind: 'stop-shared', volumesKept: !i.volumes, title: 'Stopping the shared services' });
  }
  if (i.volumes && i.canRemoveVolumes) {
    actions.push({
      kind: 'remove-volumes',
      title: "Deleting the shared services' data volumes",
      ...(i.yes
        ? {}
        : {
            ask: {
              question: 'Delete the data volumes of the shared services? This cannot be undone.',
              byDefault: false,
              no: { skip: 'volumes kept (you answered no)' },
            },
          }),
    });
  }
  actions.push({ kind: 'forget-active', title: 'Recording state' });
  return { command: 'down', from: active, to: null, release: null, notes, actions };
}
