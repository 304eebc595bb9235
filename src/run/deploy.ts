/**
 * deploy: the guide's eight steps against the inactive colour, assembled as a plan
 * (plan/deploy.ts) and run by the executor. Until traffic moves, nothing the users see changes:
 * any failure (or Ctrl-C) stops the target and leaves state.json as it was (I2).
 */
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import type { Plan } from '../plan/actions.js';
import { assembleDeploy, type DeployInput } from '../plan/deploy.js';
import { featuresOf } from '../proxy/features.js';
import { backupFor, pruneBackups } from './backup.js';
import type { Engine } from './context.js';
import type { Exec } from './exec.js';
import { execute } from './execute.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { checkOptions, deployOptions } from './options.js';
import { openProxy } from './proxy.js';
import { pruneReleases } from './prune.js';
import { offerRecovery } from './recover.js';
import { recordTimeline } from './timeline.js';

export interface DeployOptions {
  skipTests?: boolean;
  autoSwitch?: boolean;
  yes?: boolean;
  keepOld?: boolean;
  skipBackup?: boolean;
  pull?: boolean;
  ref?: string;
  forceUnlock?: boolean;
  /** Recover an interrupted operation first without asking (what `switchyard recover` does). */
  recover?: boolean;
  /** Canary steps, e.g. [10, 50, 100] (overrides deploy.canary). */
  canary?: number[];
  /** How long each canary step lasts (overrides deploy.stepWait). */
  stepWait?: number;
}

export interface DeployResult {
  id: string;
  from: Colour;
  to: Colour;
  release: string;
  ms: number;
}

function deployInput(e: Engine, opts: DeployOptions): DeployInput {
  const cfg = e.loaded.config;
  const f = featuresOf(cfg.proxy);
  return {
    skipBackup: !!opts.skipBackup,
    backupConfigured: !!backupFor(e),
    backupKind: cfg.backup.kind,
    pull: !!(opts.pull || cfg.deploy.pull),
    ...(opts.ref ? { ref: opts.ref } : {}),
    migrate: !!cfg.deploy.hooks.migrate,
    skipTests: !!opts.skipTests,
    autoSwitch: !!(opts.autoSwitch || opts.yes || cfg.deploy.autoSwitch),
    previewable: !!(f.preview || f.previewMatch),
    shares: (opts.canary ?? cfg.deploy.canary ?? [100]).filter((p) => p < 100),
    stepWait: opts.stepWait ?? cfg.deploy.stepWait,
    watchMs: cfg.deploy.rollbackOn ? cfg.deploy.watch : null,
    keepOld: !!opts.keepOld,
    stopOld: cfg.deploy.stopOld,
    keepOldFor: cfg.deploy.keepOldFor,
  };
}

/** What `deploy` would do now (`--plan`): read-only, takes no lock, changes nothing. */
export async function deployPlan(e: Engine, opts: DeployOptions = {}): Promise<Plan> {
  checkOptions('deploy', deployOptions, opts);
  return assembleDeploy(await gatherFacts(e), deployInput(e, opts));
}

export async function deploy(e: Engine, opts: DeployOptions = {}): Promise<DeployResult> {
  checkOptions('deploy', deployOptions, opts);
  const cfg = e.loaded.config;
  const input = deployInput(e, opts);
  if (!input.autoSwitch && !e.asker.interactive) {
    throw new SwitchyardError('NEEDS_TTY', 'deploy asks before switching traffic, and there is no terminal to ask on', {
      hint: 'pass --auto-switch (or --yes) to switch without asking',
    });
  }
  const flags = Object.entries(opts)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  if (input.shares.length) flags.push(`canary=${[...input.shares, 100].join(',')}`);
  await offerRecovery(e, 'deploy', opts.recover);
  return runOperation(e, 'deploy', { forceUnlock: opts.forceUnlock, flags }, async (op) => {
    const { control: proxy } = await openProxy(e);
    const plan = assembleDeploy(await gatherFacts(e, { ownLock: true }), input);
    op.from = plan.from;
    op.to = plan.to;
    const x: Exec = { e, op, proxy, done: [] };
    // The live watch counts from here: the old colour's figures until the switch are its baseline.
    const rollbackOn = cfg.deploy.rollbackOn;
    if (rollbackOn) {
      // Off first: nginx's counting log left on by a command that died is truncated (the built-in
      // proxy always counts; the watch judges differences from `since`).
      await proxy.setWatch(false);
      await proxy.setWatch(true);
      x.watch = { since: await proxy.stats(), thresholds: rollbackOn };
    }
    // The request timeline the dashboard shows for the last deploy (while nginx still counts).
    const timeline = recordTimeline(e, op, proxy);
    try {
      await execute(x, plan);
      await timeline.finish();
    } catch (err) {
      await timeline.finish(err);
      throw err;
    } finally {
      if (x.watch) await proxy.setWatch(false).catch(() => undefined);
    }
    await pruneReleases(e);
    await pruneBackups(e);
    const ms = op.elapsed();
    const [from, to] = [plan.from!, plan.to!];
    e.reporter.info(`✓ Deployment complete: ${to} is live (release ${op.release}) in ${(ms / 1000).toFixed(1)} s`);
    e.reporter.event('result', { id: op.id, ok: true, from, to, release: op.release, ms });
    return { id: op.id, from, to, release: op.release!, ms };
  });
}
