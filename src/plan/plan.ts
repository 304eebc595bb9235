/**
 * The planner: (facts, options) -> what deploy / rollback / switch will do. Pure: no I/O, no clock.
 * It refuses what cannot be done with an error that says why and what to run instead.
 */
import { otherColour, type Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { Facts } from './facts.js';

export interface DeployPlan {
  from: Colour;
  target: Colour;
  /** The target has processes left over (an interrupted deploy, or kept warm): stop them first. */
  replaceRunningTarget: boolean;
  notes: string[];
}

export function planInit(f: Facts): { target: Colour } {
  if (f.state?.active) {
    throw new SwitchyardError('USAGE', `already initialised: ${f.state.active} is active`, {
      hint: 'use `switchyard deploy` for a new version, or `switchyard down` first to start over',
    });
  }
  return { target: 'blue' };
}

export function planDeploy(f: Facts): DeployPlan {
  const s = f.state;
  if (!s?.active) {
    throw new SwitchyardError('NOT_INITIALISED', 'nothing is deployed yet', { hint: 'run `switchyard init` first' });
  }
  if (f.proxyActive !== undefined && f.proxyActive !== s.active) {
    throw new SwitchyardError(
      'INCONSISTENT',
      `the proxy serves ${f.proxyActive ?? 'nothing'} but state.json says ${s.active}`,
      {
        hint: `run \`switchyard status\` and fix that first (\`switchyard switch ${s.active} --force\`)`,
      },
    );
  }
  const from = s.active;
  const target = otherColour(from);
  const notes: string[] = [];
  if (!f.running[from]) notes.push(`warning: the active colour ${from} is not running; users are not being served`);
  if (f.running[target]) notes.push(`${target} is running but not active: it will be stopped and replaced`);
  if (f.currentEnv !== from) {
    notes.push(
      `.current-env says ${f.currentEnv === undefined ? '(missing)' : JSON.stringify(f.currentEnv)}` +
        ` but state.json and the proxy say ${from} is active` +
        `: deploying from ${from}; .current-env is rewritten when traffic moves`,
    );
  }
  return { from, target, replaceRunningTarget: f.running[target], notes };
}

export interface RollbackPlan {
  from: Colour;
  to: Colour;
  release: string;
  /** The target is stopped: it must be started (from its kept release) before the switch. */
  start: boolean;
}

export function planRollback(f: Facts): RollbackPlan {
  const s = f.state;
  if (!s?.active) {
    throw new SwitchyardError('NOT_INITIALISED', 'nothing is deployed, so there is nothing to roll back', {
      hint: 'run `switchyard init` first',
    });
  }
  const to = otherColour(s.active);
  const release = s.colours[to].release;
  if (!release) {
    throw new SwitchyardError('USAGE', `there is no previous release to roll back to: ${to} was never deployed`, {
      hint: 'deploy a version first; rollback returns to the colour that served before the last switch',
    });
  }
  return { from: s.active, to, release, start: !f.running[to] };
}

export interface SwitchPlan {
  from: Colour | null;
  to: Colour;
  release: string | null;
  alreadyActive: boolean;
}

export function planSwitch(f: Facts, to: Colour): SwitchPlan {
  if (!f.running[to]) {
    throw new SwitchyardError('USAGE', `${to} is not running, so traffic cannot move to it`, {
      hint: f.state?.colours[to].release
        ? 'use `switchyard rollback` (it starts the previous colour first)'
        : 'deploy to it first',
    });
  }
  const from = f.state?.active ?? null;
  const alreadyActive = from === to && f.proxyActive === to;
  return { from, to, release: f.state?.colours[to].release ?? null, alreadyActive };
}
