/** switch as a list of actions: all traffic to a running colour, or a sticky share of clients (--weight). */
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { Plan } from './actions.js';
import type { Facts } from './facts.js';
import { operationNotes } from './notes.js';
import { planSwitch } from './plan.js';

export function assembleSwitch(f: Facts, to: Colour, i: { force: boolean }): Plan {
  const p = planSwitch(f, to);
  return {
    command: 'switch',
    from: p.from,
    to,
    release: p.release,
    notes: operationNotes(f),
    actions: [
      { kind: 'check', colour: to, force: i.force, title: `Checking ${to}` },
      { kind: 'switch', from: p.alreadyActive ? null : p.from, to, record: false, title: `Switching traffic to ${to}` },
      { kind: 'record-state', colour: to, title: 'Recording state' },
    ],
  };
}

/**
 * switch --weight P below 100. The live colour is the proxy's (state.json's when the proxy is
 * down: it comes back from its snapshot with that colour); it keeps every other client.
 */
export function assembleSplit(f: Facts, to: Colour, percent: number, i: { force: boolean }): Plan {
  const active = f.proxyActive ?? f.state?.active ?? null;
  if (active === null) {
    throw new SwitchyardError('USAGE', 'no colour is live yet, so there is nothing to split', {
      hint: 'run `switchyard init` first',
    });
  }
  if (active === to) {
    const other = to === 'blue' ? 'green' : 'blue';
    throw new SwitchyardError('USAGE', `${to} is the live colour: --weight sends a share of clients to the other one`, {
      hint:
        `\`switchyard switch ${other} --weight ${percent}\`` +
        (f.proxyCanary ? `, or \`switchyard switch ${f.proxyCanary.colour} --weight 0\` to end the split` : ''),
    });
  }
  const base = { command: 'switch' as const, from: active, to, notes: operationNotes(f) };
  if (percent === 0) {
    return {
      ...base,
      release: null,
      actions: [{ kind: 'end-split', colour: to, active, title: `Ending the split: every client on ${active}` }],
    };
  }
  const p = planSwitch(f, to);
  return {
    ...base,
    release: p.release,
    actions: [
      { kind: 'check', colour: to, force: i.force, title: `Checking ${to}` },
      { kind: 'split', colour: to, active, percent, title: `Sending ${percent}% of clients to ${to}` },
    ],
  };
}
