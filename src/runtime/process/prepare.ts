/**
 * prepare(): one immutable release = a snapshot of every service's cwd, built in place, sealed by
 * release.json. Any failure removes the partial folder, so only complete releases ever exist for
 * long (prune removes leftovers of a crash).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { SwitchyardError } from '../../errors.js';
import { baseReleaseId, claimReleaseDir, writeManifest, type ReleaseManifest } from '../release.js';
import type { PrepareOptions, Release, RuntimeContext } from '../types.js';
import { runBuild } from './build.js';
import { toArgv } from './command.js';
import { archiveInto, gitCheckout, resolveRef } from './git.js';
import { copyWorkingTree } from './snapshot.js';
import { projectOwnFiles } from '../release.js';
import { baseEnv, serviceDir } from './env.js';

export async function prepareRelease(ctx: RuntimeContext, opts: PrepareOptions = {}): Promise<Release> {
  const { config, paths } = ctx;
  const redact = ctx.redact ?? ((t: string) => t);
  const signal = opts.signal;
  const checkAbort = () => {
    if (signal?.aborted) throw new SwitchyardError('ABORTED', 'prepare interrupted');
  };
  const checkout =
    opts.ref !== undefined ? await resolveRef(paths.root, opts.ref, signal) : await gitCheckout(paths.root, signal);
  checkAbort();
  const createdAt = new Date();
  const id = await claimReleaseDir(paths, baseReleaseId(createdAt, checkout));
  const dir = paths.release(id);
  try {
    const names = Object.keys(config.services);
    for (const name of names) {
      const svc = config.services[name]!;
      const src = path.resolve(paths.root, svc.cwd);
      const dest = serviceDir(paths, id, name);
      checkAbort();
      if (opts.ref !== undefined && checkout) {
        await archiveInto(checkout, checkout.commit, src, dest, config.deploy.exclude, signal);
      } else {
        const st = await fs.stat(src).catch(() => undefined);
        if (!st?.isDirectory()) {
          throw new SwitchyardError('BUILD_FAILED', `service ${name}: cwd ${src} is not a folder`, {
            hint: `check services.${name}.cwd (relative to ${paths.root})`,
          });
        }
        await copyWorkingTree(src, dest, config.deploy.exclude, paths.dir, projectOwnFiles(ctx));
      }
      ctx.log?.(`release ${id}: ${name} snapshot ready`);
      if (svc.build !== undefined) {
        const env = { ...baseEnv(ctx, name), SWITCHYARD_RELEASE: id };
        await runBuild({
          service: name,
          argv: toArgv(svc.build, svc.shell),
          cwd: dest,
          env,
          logFile: paths.buildLog(id, name),
          timeoutMs: svc.buildTimeout,
          ...(signal ? { signal } : {}),
          redact,
        });
        ctx.log?.(`release ${id}: ${name} built`);
      }
    }
    const manifest: ReleaseManifest = {
      id,
      createdAt: createdAt.toISOString(),
      services: names,
      ...(checkout ? { commit: checkout.commit, dirty: checkout.dirty } : {}),
      ...(opts.ref !== undefined ? { ref: opts.ref } : {}),
    };
    checkAbort();
    await writeManifest(paths, manifest);
    return { id, createdAt: manifest.createdAt, ...(manifest.commit ? { commit: manifest.commit } : {}) };
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  }
}
