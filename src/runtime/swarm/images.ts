/**
 * A swarm release's images: built here as the Docker runtime builds them (`<app>-<service>:<release>`,
 * prepareImages), then pushed to the registry the nodes pull from and recorded pinned by digest in
 * the release folder (`swarm-images.json`, beside release.json), which is what start() deploys. A
 * push the registry refuses fails prepare (PUSH_FAILED, the registry's words) and removes the
 * release, so nothing starts from it. Pruning removes old releases' local tags, registry-named ones
 * included, and folders; never a release a colour service still runs.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { SwitchyardError } from '../../errors.js';
import { readJson, writeJsonAtomic } from '../../state/atomic.js';
import type { ProjectPaths } from '../../state/paths.js';
import { imageTag, prepareImages, pruneImages, pushImage, removeTags } from '../docker/index.js';
import { isValidReleaseId } from '../release.js';
import type { PrepareOptions, Release, RuntimeContext } from '../types.js';
import { findServices } from './find.js';

export const SWARM_IMAGES = 'swarm-images.json';

export interface SwarmImages {
  release: string;
  registry: string;
  /** Service -> `<registry>/<app>-<service>@sha256:...`. */
  images: Record<string, string>;
}

const imagesFile = (paths: ProjectPaths, id: string): string => path.join(paths.release(id), SWARM_IMAGES);

/** The release's pinned images, or undefined when it has none (never pushed, or unreadable). */
export async function readSwarmImages(paths: ProjectPaths, id: string): Promise<SwarmImages | undefined> {
  if (!isValidReleaseId(id)) return undefined;
  try {
    const f = await readJson<SwarmImages>(imagesFile(paths, id));
    return f && f.release === id && typeof f.images === 'object' && f.images !== null ? f : undefined;
  } catch {
    return undefined;
  }
}

export async function prepareSwarmImages(
  ctx: RuntimeContext,
  builder: Docker,
  registry: string,
  opts: PrepareOptions = {},
): Promise<Release> {
  const { config, paths } = ctx;
  const release = await prepareImages(ctx, builder, opts);
  const tags = Object.keys(config.services).map((s) => imageTag(config.app, s, release.id));
  const images: Record<string, string> = {};
  try {
    for (const name of Object.keys(config.services)) {
      if (opts.signal?.aborted) throw new SwitchyardError('ABORTED', 'prepare interrupted');
      const pushed = await pushImage(
        builder,
        imageTag(config.app, name, release.id),
        registry,
        opts.signal ? { signal: opts.signal } : {},
      );
      images[name] = pushed.pinned;
      ctx.log?.(`release ${release.id}: ${name} pushed as ${pushed.pinned}`);
    }
    const record: SwarmImages = { release: release.id, registry, images };
    await writeJsonAtomic(imagesFile(paths, release.id), record, 0o644);
    return release;
  } catch (e) {
    // A release the nodes cannot pull is no release: its folder and local tags go (what a registry
    // already took of it stays there, unreferenced).
    await removeTags(builder, [...tags.map((t) => `${registry}/${t}`), ...tags]);
    await fs.rm(paths.release(release.id), { recursive: true, force: true });
    throw e;
  }
}

/** A release can be started again when its manifest's folder holds the pinned images of every configured service. */
export async function releasePushed(paths: ProjectPaths, id: string, services: string[]): Promise<boolean> {
  const f = await readSwarmImages(paths, id);
  return f !== undefined && services.every((s) => typeof f.images[s] === 'string');
}

/**
 * As the Docker runtime prunes (the newest `keep`, `protect`, and what runs), what runs being the
 * releases of the app's services on the swarm; then the removed releases' registry-named tags.
 * The registry itself keeps their manifests (deleting there needs the registry's own garbage collection).
 */
export async function pruneSwarmReleases(
  ctx: RuntimeContext,
  manager: Docker,
  builder: Docker,
  registry: string,
  keep: number,
  protect: string[],
): Promise<string[]> {
  const running = (await findServices(manager, ctx.config.app)).flatMap((s) => (s.release ? [s.release] : []));
  const removed = await pruneImages(ctx, builder, keep, [...protect, ...running]);
  await removeTags(
    builder,
    removed.flatMap((id) =>
      Object.keys(ctx.config.services).map((s) => `${registry}/${imageTag(ctx.config.app, s, id)}`),
    ),
  );
  return removed;
}
