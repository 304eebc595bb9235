/**
 * rollback: back to the colour that served before the last switch. Its release folder is kept, so
 * a stopped colour restarts exactly the previous release; a warm one is a pure traffic switch.
 */
import type { Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { planRollback } from '../plan/plan.js';
import { appendHistory, whoAmI } from '../state/history.js';
import { acquireLock } from '../state/lock.js';
import { activated, readState, withColourStatus, writeState } from '../state/state.js';
import { healthGate, startColour } from './colour.js';
import type { Engine } from './context.js';
import { openProxy } from './proxy.js';
import { interrupted } from './deploy.js';
import { gatherFacts } from './facts.js';
import { newOperationId, StepRunner } from './steps.js';
import { drainAndStop, drainSummary, switchAndVerify } from './traffic.js';

export interface RollbackOptions {
  force?: boolean;
  forceUnlock?: boolean;
}

export async function rollback(e: Engine, opts: RollbackOptions = {}): Promise<{ id: string; from: Colour; to: Colour; release: string; ms: number }> {
  if (!opts.force && !e.asker.interactive) {
    throw new SwitchyardError('NEEDS_TTY', 'rollback asks for confirmation, and there is no terminal to ask on', {
      hint: 'pass --force to roll back without asking',
    });
  }
  const lock = await acquireLock(e.paths, 'rollback', { forceUnlock: opts.forceUnlock });
  const id = newOperationId();
  const t0 = Date.now();
  const steps = new StepRunner(e.reporter, 4);
  let from: Colour | null = null;
  let to: Colour | null = null;
  let release: string | null = null;
  let startedHere = false;
  let committed = false;
  try {
    const { control: proxy } = await openProxy(e);
    const plan = await steps.run('Determining rollback target', async (h) => {
      const p = planRollback(await gatherFacts(e, { ownLock: true }));
      h.ok(`${p.from} -> ${p.to}`);
      return p;
    });
    ({ from, to, release } = plan);
    e.reporter.info(`Current environment: ${from}`);
    e.reporter.info(`Rolling back to: ${to} (release ${release})`);
    if (!opts.force && !(await e.asker.confirm('Continue with rollback?', false))) {
      throw new SwitchyardError('ABORTED', `rollback cancelled; ${from} is still serving`);
    }

    await steps.run(`Ensuring ${to} environment is running`, async (h) => {
      if (plan.start) {
        if (!(await e.runtime.hasRelease(plan.release))) {
          throw new SwitchyardError('START_FAILED', `release ${plan.release} of ${plan.to} is no longer on disk`, {
            hint: 'deploy the version you want instead (`switchyard deploy --ref <commit>`)',
          });
        }
        h.update(`starting release ${plan.release}`);
        startedHere = true;
        await startColour(e, proxy, plan.to, plan.release);
      } else {
        await proxy.setBackends(plan.to, await e.runtime.endpoints(plan.to));
      }
      h.update('health checks');
      const healthy = await healthGate(e, plan.to, h, { warm: !plan.start });
      h.ok(plan.start ? `started release ${plan.release}, ${healthy}` : `already running, ${healthy}`);
    });

    await steps.run(`Switching traffic to ${to}`, async (h) => {
      e.signal.throwIfAborted();
      committed = true;
      const t = await switchAndVerify(e, proxy, from, to!);
      const before = (await readState(e.paths))!;
      await writeState(e.paths, {
        ...activated(before, to!, release),
        lastDeploy: { id, type: 'rollback', at: new Date().toISOString(), from, to: to!, release, result: 'success' },
      });
      h.ok(`switched in ${t.switchMs} ms, verified in ${t.verifyMs} ms`);
    });

    await steps.run(`Managing ${from} environment`, async (h) => {
      const stop = opts.force ? true : await e.asker.confirm(`Stop ${from} environment?`, true);
      if (!stop) return h.skip(`${from} left running (no traffic); stop it later with \`switchyard down ${from}\``);
      try {
        const d = await drainAndStop(e, proxy, from!);
        await writeState(e.paths, withColourStatus((await readState(e.paths))!, from!, 'stopped'));
        h.ok(`stopped; ${drainSummary(d)}`);
      } catch (stopErr) {
        h.fail(errorMessage(stopErr));
        e.reporter.warn(`${from} could not be stopped cleanly; stop it with \`switchyard down ${from}\``);
      }
    });
    const ms = Date.now() - t0;
    await appendHistory(e.paths, { id, type: 'rollback', time: new Date(t0).toISOString(), who: whoAmI(), from, to, release, result: 'success', ms }, e.redact);
    e.reporter.info(`✓ Rollback complete: ${to} is live (release ${release}) in ${(ms / 1000).toFixed(2)} s`);
    e.reporter.event('result', { id, ok: true, from, to, release, ms });
    return { id, from: from!, to: to!, release: release!, ms };
  } catch (err) {
    const error = committed ? err : interrupted(e, err, from);
    if (!committed && startedHere && to) await e.runtime.stop(to).catch(() => undefined);
    if (!committed && from) e.reporter.warn(`${from} is still serving; state.json is unchanged`);
    await appendHistory(e.paths, { id, type: 'rollback', time: new Date(t0).toISOString(), who: whoAmI(), from, to, release, result: 'failed', reason: errorMessage(error), ms: Date.now() - t0 }, e.redact).catch(() => undefined);
    throw error;
  } finally {
    await lock.release();
  }
}
