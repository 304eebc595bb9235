/** init as a list of actions: shared services, the proxy, the first colour, its checks, activation. */
import type { Action, Plan } from './actions.js';
import type { Facts } from './facts.js';
import { operationNotes } from './notes.js';
import { planInit } from './plan.js';

export interface InitInput {
  /** shared: services are configured and the runtime can start them. */
  shared: boolean;
  skipTests: boolean;
  ref?: string;
}

export function assembleInit(f: Facts, i: InitInput): Plan {
  const { target } = planInit(f);
  const actions: Action[] = [
    {
      kind: 'start-shared',
      title: 'Starting shared services',
      ...(i.shared ? {} : { skip: 'none configured (shared:)' }),
    },
    { kind: 'start-proxy', title: 'Starting proxy' },
    {
      kind: 'build-start',
      colour: target,
      replace: f.running[target],
      keepFailed: false,
      ...(i.ref ? { ref: i.ref } : {}),
      title: `Building and starting ${target} environment`,
    },
    { kind: 'health', colour: target, title: `Running health checks on ${target}` },
    {
      kind: 'smoke',
      colour: target,
      title: `Running smoke tests on ${target}`,
      ...(i.skipTests ? { skip: 'skipped (--skip-tests)' } : {}),
    },
    { kind: 'switch', from: null, to: target, record: true, title: `Activating ${target}` },
  ];
  return { command: 'init', from: null, to: target, release: null, notes: operationNotes(f), actions };
}
