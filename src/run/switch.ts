/** switch <colour>: move traffic to an already running colour (refusing an unhealthy one unless forced). */
import type { Colour } from '../config/schema.js';
import { planSwitch } from '../plan/plan.js';
import { activated, emptyState, readState, writeState } from '../state/state.js';
import { warmHealthGate } from './colour.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkColour, checkOptions, switchOptions } from './options.js';
import { openProxy } from './proxy.js';
import { StepRunner } from './steps.js';
import { switchAndVerify } from './traffic.js';
import { splitTraffic } from './split.js';

export interface SwitchOptions {
  force?: boolean;
  forceUnlock?: boolean;
  /** Percent of clients to send to `to` (sticky); 100 or absent = all traffic, 0 = end a split. */
  weight?: number;
}

export async function switchTraffic(
  e: Engine,
  to: Colour,
  opts: SwitchOptions = {},
): Promise<{ id: string; from: Colour | null; to: Colour; ms: number }> {
  checkColour('switch', to);
  checkOptions('switch', switchOptions, opts);
  if (opts.weight !== undefined && opts.weight < 100) return splitTraffic(e, to, opts.weight, opts);
  const cfg = e.loaded.config;
  // --force is the manual repair: it may replace an interrupted operation's journal; otherwise recover first.
  return runOperation(
    e,
    'switch',
    {
      forceUnlock: opts.forceUnlock,
      flags: opts.force ? ['force'] : [],
      interrupted: opts.force ? 'replace' : 'refuse',
      to,
    },
    async (op) => {
      const steps = new StepRunner(e.reporter, 3, op.journal);
      const { control: proxy } = await openProxy(e);
      const plan = planSwitch(await gatherFacts(e, { ownLock: true }), to);
      Object.assign(op, { from: plan.from, to, release: plan.release });
      await proxy.setBackends(to, await e.runtime.endpoints(to));
      await steps.run(`Checking ${to}`, (h) => warmHealthGate(e, to, h, { force: opts.force }));
      await steps.run(`Switching traffic to ${to}`, async (h) => {
        await op.commit();
        const t = await switchAndVerify(e, proxy, plan.alreadyActive ? null : plan.from, to);
        h.ok(`switched in ${t.switchMs} ms, verified in ${t.verifyMs} ms`);
      });
      await steps.run('Recording state', async () => {
        const before = (await readState(e.paths)) ?? emptyState(cfg.app);
        op.release = before.colours[to].release ?? (await e.runtime.current(to))?.release ?? null;
        await writeState(e.paths, activated(before, to, op.release));
      });
      const ms = op.elapsed();
      e.reporter.info(`✓ ${to} is live`);
      e.reporter.event('result', { id: op.id, ok: true, from: plan.from, to, ms });
      return { id: op.id, from: plan.from, to, ms };
    },
  );
}
