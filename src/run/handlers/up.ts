/** Handlers of `up`: start a recorded colour again (the live one behind a 503 page), and the supervisor. */
import { SwitchyardError } from '../../errors.js';
import type { Action } from '../../plan/actions.js';
import { STARTING_MESSAGE } from '../../plan/up.js';
import { healthGate, startColour } from '../colour.js';
import { proxyOf, type Exec } from '../exec.js';
import type { StepHandle } from '../reporter.js';

type Of<K extends Action['kind']> = Extract<Action, { kind: K }>;

export async function revive(x: Exec, a: Of<'revive'>, h: StepHandle): Promise<void> {
  const { e } = x;
  const proxy = await proxyOf(x);
  // Users of the live colour get the maintenance page with Retry-After while it starts, not a 502
  // (a proxy this operation started is in maintenance from its first request on: x.held).
  const hold = a.live && (x.held === true || !(await proxy.status()).maintenance);
  if (hold && !x.held) await proxy.setMaintenance({ on: true, message: STARTING_MESSAGE });
  let healthy: string;
  try {
    if (!(await e.runtime.hasRelease(a.release))) {
      throw new SwitchyardError('START_FAILED', `release ${a.release} of ${a.colour} is no longer on disk`, {
        hint:
          `deploy a release again (\`switchyard deploy\`, or \`switchyard deploy --ref <commit>\` for that version);` +
          ' state.json is left as it is',
      });
    }
    // What is left of it (dead pids in its run file, or a process the supervisor already started
    // again) goes first: the colour is started whole, from its recorded release, and checked.
    await e.runtime.stop(a.colour);
    h.update(`starting release ${a.release}`);
    await startColour(e, proxy, a.colour, a.release);
    h.update('health checks');
    healthy = await healthGate(e, a.colour, h);
  } finally {
    // Off again either way: a page left on would outlive the fix (a deploy does not turn it off).
    if (hold) await proxy.setMaintenance({ on: false });
    x.held = false;
  }
  x.done.push(`started ${a.colour}`);
  h.ok(`release ${a.release}, ${healthy}${hold ? '; 503 (maintenance) while it started' : ''}`);
}

export async function supervise(x: Exec, _a: Of<'supervise'>, h: StepHandle): Promise<void> {
  const started = await x.e.runtime.supervise?.();
  if (started) x.done.push('started the supervisor');
  h.ok(started ?? 'already running');
}
