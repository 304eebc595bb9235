/** Handlers that bring a colour up and prove it fit for traffic (I1): build, start, health, migration, smoke. */
import { SwitchyardError } from '../../errors.js';
import type { Action } from '../../plan/actions.js';
import { warnMigrationWithoutBackup } from '../backup.js';
import { backendsOf, buildAndStart, healthGate, smokeGate, startColour, warmHealthGate } from '../colour.js';
import { proxyOf, type Exec } from '../exec.js';
import { runMigration } from '../migrate.js';
import type { StepHandle } from '../reporter.js';

type Of<K extends Action['kind']> = Extract<Action, { kind: K }>;

export async function buildStart(x: Exec, a: Of<'build-start'>, h: StepHandle): Promise<void> {
  const proxy = await proxyOf(x);
  if (a.replace) {
    h.update(`stopping the ${a.colour} left running`);
    await x.e.runtime.stop(a.colour);
  }
  const release = await buildAndStart(x.e, x.op, proxy, a.colour, h, { ref: a.ref, keepOld: a.keepFailed });
  h.ok(`release ${release}`);
}

export async function ensureRunning(x: Exec, a: Of<'ensure-running'>, h: StepHandle): Promise<void> {
  const { e, op } = x;
  const proxy = await proxyOf(x);
  if (a.start) {
    if (!(await e.runtime.hasRelease(a.release))) {
      throw new SwitchyardError('START_FAILED', `release ${a.release} of ${a.colour} is no longer on disk`, {
        hint: 'deploy the version you want instead (`switchyard deploy --ref <commit>`)',
      });
    }
    h.update(`starting release ${a.release}`);
    op.onFailure(async () => {
      await e.runtime.stop(a.colour);
      return `${a.colour} stopped again`;
    });
    await startColour(e, proxy, a.colour, a.release);
  } else {
    await proxy.setBackends(a.colour, await backendsOf(e, a.colour));
  }
  h.update('health checks');
  const healthy = await healthGate(e, a.colour, h, { warm: !a.start });
  h.ok(a.start ? `started release ${a.release}, ${healthy}` : `already running, ${healthy}`);
}

export async function health(x: Exec, a: Of<'health'>, h: StepHandle): Promise<void> {
  h.ok(await healthGate(x.e, a.colour, h));
}

export async function check(x: Exec, a: Of<'check'>, h: StepHandle): Promise<void> {
  const proxy = await proxyOf(x);
  await proxy.setBackends(a.colour, await backendsOf(x.e, a.colour));
  await warmHealthGate(x.e, a.colour, h, { force: a.force });
}

export async function migrate(x: Exec, a: Of<'migrate'>, h: StepHandle): Promise<void> {
  if (!x.backup && a.unbackedBecause) await warnMigrationWithoutBackup(x.e, a.unbackedBecause);
  h.ok(await runMigration(x.e, a.colour, x.op.release!, x.backup));
}

export async function smoke(x: Exec, a: Of<'smoke'>, h: StepHandle): Promise<void> {
  await smokeGate(x.e, a.colour, h);
}
