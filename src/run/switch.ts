/** switch <colour>: move traffic to an already running colour (refusing an unhealthy one unless forced). */
import type { Colour } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { planSwitch } from '../plan/plan.js';
import { appendHistory, whoAmI } from '../state/history.js';
import { acquireLock } from '../state/lock.js';
import { activated, emptyState, readState, writeState } from '../state/state.js';
import { healthGate } from './colour.js';
import type { Engine } from './context.js';
import { openProxy } from './proxy.js';
import { gatherFacts } from './facts.js';
import { newOperationId, StepRunner } from './steps.js';
import { switchAndVerify } from './traffic.js';

export async function switchTraffic(e: Engine, to: Colour, opts: { force?: boolean; forceUnlock?: boolean } = {}): Promise<{ id: string; from: Colour | null; to: Colour; ms: number }> {
  const cfg = e.loaded.config;
  const lock = await acquireLock(e.paths, 'switch', { forceUnlock: opts.forceUnlock });
  const id = newOperationId();
  const t0 = Date.now();
  const steps = new StepRunner(e.reporter, 3);
  let from: Colour | null = null;
  try {
    const { control: proxy } = await openProxy(e);
    const plan = planSwitch(await gatherFacts(e, { ownLock: true }), to);
    from = plan.from;
    await proxy.setBackends(to, await e.runtime.endpoints(to));
    await steps.run(`Checking ${to}`, async (h) => {
      try {
        h.ok(await healthGate(e, to, h, { warm: true, timeoutMs: Math.min(cfg.checks.timeout, 10_000) }));
      } catch (err) {
        if (!opts.force) throw err;
        h.fail(`${errorMessage(err)} (continuing: --force)`);
      }
    });
    await steps.run(`Switching traffic to ${to}`, async (h) => {
      const t = await switchAndVerify(e, proxy, plan.alreadyActive ? null : from, to);
      h.ok(`switched in ${t.switchMs} ms, verified in ${t.verifyMs} ms`);
    });
    await steps.run('Recording state', async () => {
      const before = (await readState(e.paths)) ?? emptyState(cfg.app);
      const release = before.colours[to].release ?? (await e.runtime.current(to))?.release ?? null;
      await writeState(e.paths, activated(before, to, release));
    });
    const ms = Date.now() - t0;
    await appendHistory(e.paths, { id, type: 'switch', time: new Date(t0).toISOString(), who: whoAmI(), from, to, release: plan.release, result: 'success', ms, flags: opts.force ? ['force'] : [] }, e.redact);
    e.reporter.info(`✓ ${to} is live`);
    e.reporter.event('result', { id, ok: true, from, to, ms });
    return { id, from, to, ms };
  } catch (err) {
    await appendHistory(e.paths, { id, type: 'switch', time: new Date(t0).toISOString(), who: whoAmI(), from, to, release: null, result: 'failed', reason: errorMessage(err), ms: Date.now() - t0 }, e.redact).catch(() => undefined);
    throw err;
  } finally {
    await lock.release();
  }
}
