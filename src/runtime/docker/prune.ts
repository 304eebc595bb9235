/**
 * Pruning old releases' images. A release's images are the tags `<app>-<service>:<release>`; we
 * keep the newest `keep` releases, every release in `protect` (the live one and the one a rollback
 * would use) and every release a container still runs from, and remove the rest with their
 * release.json folders. Removing a tag only deletes the image when no other tag points to it, so
 * a pinned `image:` stays on the engine under its own name.
 */
import type Docker from 'dockerode';
import { listReleases, pruneReleases as pruneReleaseDirs } from '../release.js';
import type { RuntimeContext } from '../types.js';
import { call, statusOf } from './client.js';
import { findContainers } from './containers.js';
import { imageRepo } from './names.js';
import { splitTag } from './images.js';

/** release id -> the tags of that release on the engine. */
async function releaseTags(ctx: RuntimeContext, docker: Docker): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const repos = new Set(Object.keys(ctx.config.services).map((s) => imageRepo(ctx.config.app, s)));
  const images = await call('list images', () =>
    docker.listImages({ filters: { reference: [...repos].map((r) => `${r}:*`) } }),
  );
  for (const img of images) {
    for (const t of img.RepoTags ?? []) {
      const { repo, tag } = splitTag(t);
      if (!repos.has(repo) || tag === 'shared') continue;
      out.set(tag, [...(out.get(tag) ?? []), t]);
    }
  }
  return out;
}

export async function pruneImages(
  ctx: RuntimeContext,
  docker: Docker,
  keep: number,
  protect: string[],
): Promise<string[]> {
  const tags = await releaseTags(ctx, docker);
  const running = [...(await findContainers(docker, ctx.config.app, 'colour'))].flatMap((f) =>
    f.release ? [f.release] : [],
  );
  const keepSet = new Set([...protect, ...running]);
  // Newest first by release.json; ids sort by time too (YYYYMMDD-HHMMSS-...) for tags without one.
  const manifests = await listReleases(ctx.paths);
  const known = new Set(manifests.map((m) => m.id));
  const order = [
    ...manifests.map((m) => m.id),
    ...[...tags.keys()]
      .filter((id) => !known.has(id))
      .sort()
      .reverse(),
  ];
  for (const id of order.slice(0, Math.max(0, keep))) keepSet.add(id);

  const removed: string[] = [];
  for (const [id, list] of tags) {
    if (keepSet.has(id)) continue;
    let all = true;
    for (const t of list) {
      try {
        await call(`remove image ${t}`, () => docker.getImage(t).remove());
      } catch (e) {
        // 409: a container (maybe not ours) uses it; keep the release rather than break it.
        if (statusOf(e) !== 404) all = false;
      }
    }
    if (all) removed.push(id);
  }
  // The release.json folders follow the same rule; a folder whose images could not go stays.
  const stay = [...keepSet, ...[...tags.keys()].filter((id) => !removed.includes(id))];
  const dirs = await pruneReleaseDirs(ctx.paths, keep, stay, Object.keys(ctx.config.services));
  return [...new Set([...removed, ...dirs])];
}

/** A release can be started again when its manifest and every service's image are still there. */
export async function releaseComplete(
  ctx: RuntimeContext,
  id: string,
  exists: (tag: string) => Promise<boolean>,
): Promise<boolean> {
  for (const s of Object.keys(ctx.config.services))
    if (!(await exists(`${imageRepo(ctx.config.app, s)}:${id}`))) return false;
  return true;
}
