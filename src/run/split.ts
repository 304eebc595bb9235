/**
 * switch <colour> --weight P (P < 100): a sticky share of clients on the other colour while the
 * active one keeps the rest; --weight 0 ends the split. state.json's active colour does not change
 * (it names who serves everyone else); the proxy's status and `switchyard status` show the split.
 */
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { planSwitch } from '../plan/plan.js';
import { warmHealthGate } from './colour.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { openProxy } from './proxy.js';
import { StepRunner } from './steps.js';

export async function splitTraffic(
  e: Engine,
  to: Colour,
  percent: number,
  opts: { force?: boolean; forceUnlock?: boolean },
): Promise<{ id: string; from: Colour | null; to: Colour; ms: number }> {
  const cfg = e.loaded.config;
  const flags = [`weight=${percent}`, ...(opts.force ? ['force'] : [])];
  return runOperation(e, 'switch', { forceUnlock: opts.forceUnlock, flags, to }, async (op) => {
    const { control: proxy, status } = await openProxy(e);
    const active = status.active;
    Object.assign(op, { from: active, to, weight: percent });
    if (active === null)
      throw new SwitchyardError('USAGE', 'no colour is live yet, so there is nothing to split', {
        hint: 'run `switchyard init` first',
      });
    if (active === to) {
      throw new SwitchyardError(
        'USAGE',
        `${to} is the live colour: --weight sends a share of clients to the other one`,
        {
          hint:
            `\`switchyard switch ${to === 'blue' ? 'green' : 'blue'} --weight ${percent}\`` +
            (status.canary ? `, or \`switchyard switch ${status.canary.colour} --weight 0\` to end the split` : ''),
        },
      );
    }
    if (percent === 0) {
      const steps = new StepRunner(e.reporter, 1, op.journal);
      await steps.run(`Ending the split: every client on ${active}`, async (h) => {
        await proxy.setWeight(to, 0);
        h.ok(status.canary ? `${to} had ${status.canary.percent}%` : 'there was no split');
      });
      e.reporter.info(`✓ every client is on ${active}`);
      return { id: op.id, from: active, to, ms: op.elapsed() };
    }
    const plan = planSwitch(await gatherFacts(e, { ownLock: true }), to);
    op.release = plan.release;
    const steps = new StepRunner(e.reporter, 2, op.journal);
    await proxy.setBackends(to, await e.runtime.endpoints(to));
    await steps.run(`Checking ${to}`, (h) => warmHealthGate(e, to, h, { force: opts.force }));
    await steps.run(`Sending ${percent}% of clients to ${to}`, async (h) => {
      const t0 = performance.now();
      await proxy.setWeight(to, percent);
      h.ok(
        `in ${Math.round(performance.now() - t0)} ms; sticky by ${cfg.proxy.sticky}` +
          `; the other ${100 - percent}% stay on ${active}`,
      );
    });
    e.reporter.info(
      `✓ ${percent}% of clients on ${to}, ${100 - percent}% on ${active}` +
        `; \`switchyard switch ${to}\` moves everyone` +
        `, \`switchyard switch ${to} --weight 0\` ends the split`,
    );
    e.reporter.event('result', { id: op.id, ok: true, from: active, to, weight: percent, ms: op.elapsed() });
    return { id: op.id, from: active, to, ms: op.elapsed() };
  });
}
