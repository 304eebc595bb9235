/**
 * deploy: the guide's eight steps against the inactive colour. Until traffic moves, nothing the
 * users see changes: any failure (or Ctrl-C) stops the target and leaves state.json as it was (I2).
 */
import type { Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { planDeploy } from '../plan/plan.js';
import { activated, readState, withColourStatus, writeState } from '../state/state.js';
import { buildAndStart, healthGate, smokeGate } from './colour.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { runOperation } from './operation.js';
import { openProxy } from './proxy.js';
import { pruneReleases } from './prune.js';
import { gitPull } from './pull.js';
import { keepWarm } from './reap.js';
import { StepRunner } from './steps.js';
import { drainAndStop, drainSummary, switchAndVerify } from './traffic.js';
import { backupFor, describeBackup, pruneBackups, warnMigrationWithoutBackup } from './backup.js';
import { checkOptions, deployOptions } from './options.js';
import { runMigration } from './migrate.js';
import { offerRecovery } from './recover.js';
import type { BackupMeta } from '../backup/types.js';
import { featuresOf } from '../proxy/features.js';
import { previewLines, previewOf } from './preview.js';
import { canarySteps, watchAfterSwitch, type ShiftContext } from './shift.js';

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

export async function deploy(e: Engine, opts: DeployOptions = {}): Promise<DeployResult> {
  checkOptions('deploy', deployOptions, opts);
  const cfg = e.loaded.config;
  const autoSwitch = !!(opts.autoSwitch || opts.yes || cfg.deploy.autoSwitch);
  if (!autoSwitch && !e.asker.interactive) {
    throw new SwitchyardError('NEEDS_TTY', 'deploy asks before switching traffic, and there is no terminal to ask on', {
      hint: 'pass --auto-switch (or --yes) to switch without asking',
    });
  }
  const flags = Object.entries(opts)
    .filter(([, v]) => v === true)
    .map(([k]) => k);
  const shares = (opts.canary ?? cfg.deploy.canary ?? [100]).filter((p) => p < 100);
  if (shares.length) flags.push(`canary=${[...shares, 100].join(',')}`);
  const rollbackOn = cfg.deploy.rollbackOn;
  await offerRecovery(e, 'deploy', opts.recover);
  return runOperation(e, 'deploy', { forceUnlock: opts.forceUnlock, flags }, async (op) => {
    const steps = new StepRunner(
      e.reporter,
      (cfg.deploy.hooks.migrate ? 9 : 8) + shares.length + (rollbackOn ? 1 : 0),
      op.journal,
    );
    const { control: proxy } = await openProxy(e);

    const plan = await steps.run('Determining deployment target', async (h) => {
      const p = planDeploy(await gatherFacts(e, { ownLock: true }));
      h.ok(`${p.from} -> ${p.target}`);
      return p;
    });
    const { from, target } = plan;
    op.from = from;
    op.to = target;
    e.reporter.info(`Current environment: ${from}`);
    e.reporter.info(`Target environment: ${target}`);
    for (const n of plan.notes) e.reporter.warn(n);

    // The live watch counts from here: the old colour's figures until the switch are its baseline.
    let watch: ShiftContext['watch'];
    if (rollbackOn) {
      // Off first: counting left on by a command that died starts over (and nginx's log is truncated).
      await proxy.setWatch(false);
      await proxy.setWatch(true);
      watch = { since: await proxy.stats(), thresholds: rollbackOn };
    }
    try {
      const backupper = backupFor(e);
      let backup: BackupMeta | undefined;
      if (opts.skipBackup) steps.skip('Backing up database', 'skipped (--skip-backup)');
      else if (!backupper)
        steps.skip('Backing up database', `no database backup configured (backup.kind: ${cfg.backup.kind})`);
      else {
        backup = await steps.run('Backing up database', async (h) => {
          h.update(backupper.describe());
          const b = await backupper.backup({ reason: 'deploy', deployId: op.id, signal: e.signal });
          h.ok(describeBackup(b));
          return b;
        });
        op.backup = backup.file;
      }

      if (opts.pull || cfg.deploy.pull)
        await steps.run('Pulling latest code', async (h) => h.ok(await gitPull(e.paths.root, e.signal)));
      else
        steps.skip(
          'Pulling latest code',
          opts.ref ? `deploying ref ${opts.ref}` : 'not requested (--pull or deploy.pull)',
        );

      await steps.run(`Building and starting ${target} environment`, async (h) => {
        if (plan.replaceRunningTarget) {
          h.update(`stopping the ${target} left running`);
          await e.runtime.stop(target);
        }
        h.ok(`release ${await buildAndStart(e, op, proxy, target, h, { ref: opts.ref, keepOld: opts.keepOld })}`);
      });

      await steps.run(`Running health checks on ${target}`, async (h) => h.ok(await healthGate(e, target, h)));

      if (cfg.deploy.hooks.migrate) {
        if (!backup)
          await warnMigrationWithoutBackup(e, opts.skipBackup ? '--skip-backup' : `backup.kind: ${cfg.backup.kind}`);
        await steps.run('Running database migration', async (h) =>
          h.ok(await runMigration(e, target, op.release!, backup)),
        );
      }

      if (opts.skipTests) steps.skip(`Running smoke tests on ${target}`, 'skipped (--skip-tests)');
      else await steps.run(`Running smoke tests on ${target}`, (h) => smokeGate(e, target, h));

      if (!autoSwitch) {
        const f = featuresOf(cfg.proxy);
        if (f.preview || f.previewMatch) for (const l of previewLines(previewOf(f, target))) e.reporter.info(l);
      }
      // Asked outside any step: a spinner would hide the question.
      if (
        !autoSwitch &&
        !(await e.asker.confirm(
          `All checks passed. ` +
            (shares.length
              ? `Shift traffic to ${target} in steps (${[...shares, 100].join('%, ')}%)`
              : `Switch traffic to ${target}`) +
            '?',
          false,
        ))
      ) {
        throw new SwitchyardError('ABORTED', 'not switched: you answered no');
      }
      const shift: ShiftContext = { e, op, proxy, steps, from, target, ...(watch ? { watch } : {}) };
      if (shares.length) await canarySteps(shift, shares, opts.stepWait ?? cfg.deploy.stepWait);
      const before = (await readState(e.paths))!;
      await steps.run(`Switching traffic to ${target}`, async (h) => {
        e.signal.throwIfAborted();
        await op.commit();
        const t = await switchAndVerify(e, proxy, from, target, () =>
          h.update(`verifying ${target} through the public entry`),
        );
        await writeState(e.paths, { ...activated(before, target, op.release, backup?.name), lastDeploy: op.summary() });
        h.ok(`switched in ${t.switchMs} ms, verified through the proxy in ${t.verifyMs} ms`);
      });
      if (watch) await watchAfterSwitch({ ...shift, watch }, cfg.deploy.watch, before);

      await steps.run(`Stopping ${from} environment`, async (h) => {
        if (opts.keepOld) return h.skip('kept running (--keep-old)');
        if (!cfg.deploy.stopOld) return h.skip('kept running (deploy.stopOld: false)');
        if (cfg.deploy.keepOldFor > 0) {
          await keepWarm(e, from, (await readState(e.paths))!.colours[from].release, cfg.deploy.keepOldFor);
          return h.skip(
            `kept warm for ${Math.round(cfg.deploy.keepOldFor / 1000)} s` +
              ` (deploy.keepOldFor): a rollback now is a pure switch`,
          );
        }
        try {
          const d = await drainAndStop(e, proxy, from, () => h.update(`stopping ${from}`));
          await writeState(e.paths, withColourStatus((await readState(e.paths))!, from, 'stopped'));
          h.ok(drainSummary(d));
        } catch (stopErr) {
          // Traffic already moved and was verified: the deploy succeeded; say what is left to tidy.
          h.fail(errorMessage(stopErr));
          e.reporter.warn(`${from} could not be stopped cleanly; stop it with \`switchyard down ${from}\``);
        }
      });
    } finally {
      if (watch) await proxy.setWatch(false).catch(() => undefined);
    }

    await pruneReleases(e);
    await pruneBackups(e);
    const ms = op.elapsed();
    e.reporter.info(`✓ Deployment complete: ${target} is live (release ${op.release}) in ${(ms / 1000).toFixed(1)} s`);
    e.reporter.event('result', { id: op.id, ok: true, from, to: target, release: op.release, ms });
    return { id: op.id, from, to: target, release: op.release!, ms };
  });
}
