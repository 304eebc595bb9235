/** init: start the proxy, deploy to blue, check it, activate it, write state (the guide's init-bluegreen). */
import { planInit } from '../plan/plan.js';
import { activated, emptyState, readState, writeState } from '../state/state.js';
import { buildAndStart, healthGate, smokeGate } from './colour.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkOptions, initOptions } from './options.js';
import { openProxy } from './proxy.js';
import { StepRunner } from './steps.js';
import { switchAndVerify } from './traffic.js';

export async function init(
  e: Engine,
  opts: { skipTests?: boolean; ref?: string; forceUnlock?: boolean } = {},
): Promise<{ id: string; release: string; ms: number }> {
  checkOptions('init', initOptions, opts);
  const cfg = e.loaded.config;
  return runOperation(e, 'init', { forceUnlock: opts.forceUnlock }, async (op) => {
    const steps = new StepRunner(e.reporter, 6, op.journal);
    const target = planInit(await gatherFacts(e, { ownLock: true })).target;
    op.to = target;
    const shared = Object.keys(cfg.shared ?? {});
    if (shared.length === 0 || !e.runtime.startShared)
      steps.skip('Starting shared services', 'none configured (shared:)');
    else
      await steps.run('Starting shared services', async (h) =>
        h.ok((await e.runtime.startShared!({ signal: e.signal })).join('; ')),
      );
    const proxy = await steps.run('Starting proxy', async (h) => {
      const p = await openProxy(e);
      h.ok(
        `${p.started ? 'started' : 'already running'} on ${cfg.proxy.listen.host}:${cfg.proxy.listen.http}` +
          ` (pid ${p.status.pid})`,
      );
      return p.control;
    });
    await steps.run(`Building and starting ${target} environment`, async (h) => {
      if ((await e.runtime.status(target)).some((s) => s.running)) await e.runtime.stop(target);
      h.ok(`release ${await buildAndStart(e, op, proxy, target, h, { ref: opts.ref })}`);
    });
    await steps.run(`Running health checks on ${target}`, async (h) => h.ok(await healthGate(e, target, h)));
    if (opts.skipTests) steps.skip(`Running smoke tests on ${target}`, 'skipped (--skip-tests)');
    else await steps.run(`Running smoke tests on ${target}`, (h) => smokeGate(e, target, h));
    await steps.run(`Activating ${target}`, async (h) => {
      e.signal.throwIfAborted();
      await op.commit();
      const t = await switchAndVerify(e, proxy, null, target);
      const base = (await readState(e.paths)) ?? emptyState(cfg.app);
      await writeState(e.paths, { ...activated(base, target, op.release), lastDeploy: op.summary() });
      h.ok(`verified through the proxy in ${t.verifyMs} ms`);
    });
    const ms = op.elapsed();
    e.reporter.info(
      `✓ Initialised: ${target} is live on ${cfg.proxy.listen.host}:${cfg.proxy.listen.http} (release ${op.release})`,
    );
    e.reporter.event('result', { id: op.id, ok: true, to: target, release: op.release, ms });
    return { id: op.id, release: op.release!, ms };
  });
}
