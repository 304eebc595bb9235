/** rollback as a list of actions: back to the colour that served before the last switch. */
import type { Action, Plan } from './actions.js';
import type { Facts } from './facts.js';
import { operationNotes } from './notes.js';
import { planRollback } from './plan.js';

export function assembleRollback(f: Facts, i: { force: boolean }): Plan {
  const { from, to, release, start } = planRollback(f);
  const actions: Action[] = [
    {
      kind: 'target',
      from,
      to,
      title: 'Determining rollback target',
      info: [`Current environment: ${from}`, `Rolling back to: ${to} (release ${release})`],
      warnings: [],
    },
    {
      kind: 'ensure-running',
      colour: to,
      release,
      start,
      title: `Ensuring ${to} environment is running`,
      ...(i.force
        ? {}
        : { ask: { question: 'Continue with rollback?', byDefault: false, no: { abort: 'rollback cancelled' } } }),
    },
    { kind: 'switch', from, to, record: true, title: `Switching traffic to ${to}` },
    {
      kind: 'stop-old',
      colour: from,
      title: `Managing ${from} environment`,
      ...(i.force
        ? {}
        : {
            ask: {
              question: `Stop ${from} environment?`,
              byDefault: true,
              no: { skip: `${from} left running (no traffic); stop it later with \`switchyard down ${from}\`` },
            },
          }),
    },
  ];
  return { command: 'rollback', from, to, release, notes: operationNotes(f), actions };
}
