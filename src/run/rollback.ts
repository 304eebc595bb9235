/**
 * rollback: back to the colour that served before the last switch. Its release folder is kept, so
 * a stopped colour restarts exactly the previous release; a warm one is a pure traffic switch.
 */
import type { Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { planRollback } from '../plan/plan.js';
import { activated, readState, withColourStatus, writeState } from '../state/state.js';
import { healthGate, startColour } from './colour.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkOptions, rollbackOptions } from './options.js';
import { openProxy } from './proxy.js';
import { offerRecovery } from './recover.js';
import { StepRunner } from './steps.js';
import { drainAndStop, drainSummary, switchAndVerify } from './traffic.js';

export interface RollbackOptions {
  force?: boolean;
  forceUnlock?: boolean;
  /** Recover an interrupted operation first without asking (what `switchyard recover` does). */
  recover?: boolean;
}

export async function rollback(
  e: Engine,
  opts: RollbackOptions = {},
): Promise<{ id: string; from: Colour; to: Colour; release: string; ms: number }> {
  checkOptions('rollback', rollbackOptions, opts);
  if (!opts.force && !e.asker.interactive) {
    throw new SwitchyardError('NEEDS_TTY', 'rollback asks for confirmation, and there is no terminal to ask on', {
      hint: 'pass --force to roll back without asking',
    });
  }
  await offerRecovery(e, 'rollback', opts.recover);
  return runOperation(
    e,
    'rollback',
    { forceUnlock: opts.forceUnlock, flags: [...(opts.force ? ['force'] : []), ...(opts.recover ? ['recover'] : [])] },
    async (op) => {
      const steps = new StepRunner(e.reporter, 4, op.journal);
      const { control: proxy } = await openProxy(e);
      const plan = await steps.run('Determining rollback target', async (h) => {
        const p = planRollback(await gatherFacts(e, { ownLock: true }));
        h.ok(`${p.from} -> ${p.to}`);
        return p;
      });
      const { from, to, release } = plan;
      // A warm colour was running before: undoing this rollback must leave it running.
      Object.assign(op, { from, to, release, startsTarget: plan.start });
      e.reporter.info(`Current environment: ${from}`);
      e.reporter.info(`Rolling back to: ${to} (release ${release})`);
      if (!opts.force && !(await e.asker.confirm('Continue with rollback?', false))) {
        throw new SwitchyardError('ABORTED', 'rollback cancelled');
      }

      await steps.run(`Ensuring ${to} environment is running`, async (h) => {
        if (plan.start) {
          if (!(await e.runtime.hasRelease(release))) {
            throw new SwitchyardError('START_FAILED', `release ${release} of ${to} is no longer on disk`, {
              hint: 'deploy the version you want instead (`switchyard deploy --ref <commit>`)',
            });
          }
          h.update(`starting release ${release}`);
          op.onFailure(async () => {
            await e.runtime.stop(to);
            return `${to} stopped again`;
          });
          await startColour(e, proxy, to, release);
        } else {
          await proxy.setBackends(to, await e.runtime.endpoints(to));
        }
        h.update('health checks');
        const healthy = await healthGate(e, to, h, { warm: !plan.start });
        h.ok(plan.start ? `started release ${release}, ${healthy}` : `already running, ${healthy}`);
      });

      await steps.run(`Switching traffic to ${to}`, async (h) => {
        e.signal.throwIfAborted();
        await op.commit();
        const t = await switchAndVerify(e, proxy, from, to);
        const before = (await readState(e.paths))!;
        await writeState(e.paths, { ...activated(before, to, release), lastDeploy: op.summary() });
        h.ok(`switched in ${t.switchMs} ms, verified in ${t.verifyMs} ms`);
      });

      const stop = opts.force ? true : await e.asker.confirm(`Stop ${from} environment?`, true);
      await steps.run(`Managing ${from} environment`, async (h) => {
        if (!stop) return h.skip(`${from} left running (no traffic); stop it later with \`switchyard down ${from}\``);
        try {
          const d = await drainAndStop(e, proxy, from);
          await writeState(e.paths, withColourStatus((await readState(e.paths))!, from, 'stopped'));
          h.ok(`stopped; ${drainSummary(d)}`);
        } catch (stopErr) {
          h.fail(errorMessage(stopErr));
          e.reporter.warn(`${from} could not be stopped cleanly; stop it with \`switchyard down ${from}\``);
        }
      });
      const ms = op.elapsed();
      e.reporter.info(`✓ Rollback complete: ${to} is live (release ${release}) in ${(ms / 1000).toFixed(2)} s`);
      e.reporter.event('result', { id: op.id, ok: true, from, to, release, ms });
      return { id: op.id, from, to, release, ms };
    },
  );
}
