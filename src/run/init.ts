/** init: start the proxy, deploy to blue, check it, activate it, write state (the guide's init-bluegreen). */
import { errorMessage } from '../errors.js';
import { planInit } from '../plan/plan.js';
import { appendHistory, whoAmI } from '../state/history.js';
import { acquireLock } from '../state/lock.js';
import { activated, emptyState, readState, writeState } from '../state/state.js';
import { healthGate, smokeGate, startColour } from './colour.js';
import type { Engine } from './context.js';
import { openProxy } from './proxy.js';
import { interrupted } from './deploy.js';
import { gatherFacts } from './facts.js';
import { newOperationId, StepRunner } from './steps.js';
import { switchAndVerify } from './traffic.js';

export async function init(e: Engine, opts: { skipTests?: boolean; ref?: string; forceUnlock?: boolean } = {}): Promise<{ id: string; release: string; ms: number }> {
  const cfg = e.loaded.config;
  const lock = await acquireLock(e.paths, 'init', { forceUnlock: opts.forceUnlock });
  const id = newOperationId();
  const t0 = Date.now();
  const steps = new StepRunner(e.reporter, 6);
  const target = 'blue' as const;
  let release: string | null = null;
  let started = false;
  let committed = false;
  try {
    planInit(await gatherFacts(e, { ownLock: true }));
    steps.skip('Starting shared services', 'none configured for the process runtime');
    const proxy = await steps.run('Starting proxy', async (h) => {
      const p = await openProxy(e);
      h.ok(`${p.started ? 'started' : 'already running'} on ${cfg.proxy.listen.host}:${cfg.proxy.listen.http} (pid ${p.status.pid})`);
      return p.control;
    });
    await steps.run(`Building and starting ${target} environment`, async (h) => {
      if ((await e.runtime.status(target)).some((s) => s.running)) await e.runtime.stop(target);
      const rel = await e.runtime.prepare({ ref: opts.ref, signal: e.signal });
      release = rel.id;
      started = true;
      await startColour(e, proxy, target, rel.id);
      h.ok(`release ${rel.id}`);
    });
    await steps.run(`Running health checks on ${target}`, async (h) => h.ok(await healthGate(e, target, h)));
    if (opts.skipTests) steps.skip(`Running smoke tests on ${target}`, 'skipped (--skip-tests)');
    else await steps.run(`Running smoke tests on ${target}`, (h) => smokeGate(e, target, h));
    await steps.run(`Activating ${target}`, async (h) => {
      e.signal.throwIfAborted();
      committed = true;
      const t = await switchAndVerify(e, proxy, null, target);
      const base = (await readState(e.paths)) ?? emptyState(cfg.app);
      await writeState(e.paths, { ...activated(base, target, release), lastDeploy: { id, type: 'init', at: new Date().toISOString(), from: null, to: target, release, result: 'success' } });
      h.ok(`verified through the proxy in ${t.verifyMs} ms`);
    });
    const ms = Date.now() - t0;
    await appendHistory(e.paths, { id, type: 'init', time: new Date(t0).toISOString(), who: whoAmI(), from: null, to: target, release, result: 'success', ms }, e.redact);
    e.reporter.info(`✓ Initialised: ${target} is live on ${cfg.proxy.listen.host}:${cfg.proxy.listen.http} (release ${release})`);
    e.reporter.event('result', { id, ok: true, to: target, release, ms });
    return { id, release: release!, ms };
  } catch (err) {
    const error = interrupted(e, err, null);
    if (started && !committed) await e.runtime.stop(target).catch(() => undefined);
    await appendHistory(e.paths, { id, type: 'init', time: new Date(t0).toISOString(), who: whoAmI(), from: null, to: target, release, result: 'failed', reason: errorMessage(error), ms: Date.now() - t0 }, e.redact).catch(() => undefined);
    throw error;
  } finally {
    await lock.release();
  }
}
