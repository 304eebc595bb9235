/**
 * prepare() for docker: one release = one image per service tagged `<app>-<service>:<release id>`.
 * `build:` services are built from their context; `image:` services have their tag resolved now
 * and pinned under the release tag, so a rollback starts exactly what was deployed even if the
 * user's tag moved since. The release folder holds only release.json (the id claim and the
 * manifest that rollback and prune read); the images hold everything else.
 *
 * The git commit an image is labelled (and its tag named) with is the one of its BUILD CONTEXT,
 * not of the project folder: the context may be another checkout than switchyard.yml (or the
 * only one). Each built image carries its context's commit as `switchyard.commit`; the release id
 * (hence every tag of the release) carries it when all build contexts are at one commit.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import type { DockerBuildConfig } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import { baseReleaseId, claimReleaseDir, writeManifest, type ReleaseManifest } from '../release.js';
import { projectOwnFiles } from '../release.js';
import { archiveInto, git, resolveRef, type GitCheckout } from '../process/git.js';
import type { PrepareOptions, Release, RuntimeContext } from '../types.js';
import { buildImage } from './build.js';
import { apiMessage, call, statusOf } from './client.js';
import { LABEL, imageTag } from './names.js';

/** Where the pieces of an image come from: the working tree, or a git ref exported into the release folder. */
interface Source {
  checkout: GitCheckout | undefined;
  ref?: string;
}

/** `repo:tag` split at the last colon after the last slash (a registry port is not a tag). */
export function splitTag(ref: string): { repo: string; tag: string } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

export async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await call(`inspect image ${ref}`, () => docker.getImage(ref).inspect());
    return true;
  } catch (e) {
    if (statusOf(e) === 404) return false;
    throw e;
  }
}

/**
 * Tags an existing local image; an `image:` the engine does not have is a build failure (there is no registry to pull
 * from here).
 */
async function pinImage(docker: Docker, service: string, from: string, to: string): Promise<void> {
  if (!(await imageExists(docker, from))) {
    throw new SwitchyardError('BUILD_FAILED', `image ${from} of service ${service} is not on this Docker engine`, {
      hint:
        `build or load it first (\`docker build -t ${from} ...\` or \`docker load\`)` +
        `, or give services.${service}.build`,
    });
  }
  const { repo, tag } = splitTag(to);
  await call(`tag ${from}`, () => docker.getImage(from).tag({ repo, tag }));
}

export interface BuildContext {
  context: string;
  dockerfile: string;
  args: Record<string, string>;
}

/** Absolute context and Dockerfile (relative to the context, as in compose). */
export function resolveBuild(root: string, b: DockerBuildConfig): BuildContext {
  const context = path.resolve(root, b.context);
  return { context, dockerfile: path.resolve(context, b.dockerfile ?? 'Dockerfile'), args: b.args };
}

export async function removeTags(docker: Docker, tags: string[]): Promise<void> {
  for (const t of tags) {
    await call(`remove image ${t}`, () => docker.getImage(t).remove({ noprune: false })).catch(() => undefined);
  }
}

/** `rel` of `abs` under `dir`, or undefined when it is not inside. */
function inside(dir: string, abs: string): string | undefined {
  const rel = path.relative(dir, abs);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)) ? rel : undefined;
}

/**
 * The git checkout a build context is in, or undefined when it is in none (or its repository has
 * no commit). Dirty when the context, or its Dockerfile kept elsewhere in the same repository, has
 * uncommitted changes; switchyard's own state (`ignore`: state folder, .current-env, backups) never
 * counts when it lies inside the context.
 */
export async function contextCheckout(
  b: BuildContext,
  ignore: string[],
  signal?: AbortSignal,
): Promise<GitCheckout | undefined> {
  const top = await git(b.context, ['rev-parse', '--show-toplevel'], signal);
  if (top.code !== 0 || !top.stdout) return undefined;
  const head = await git(b.context, ['rev-parse', '--short', 'HEAD'], signal);
  if (head.code !== 0 || !head.stdout) return undefined;
  const real = async (p: string) => fs.realpath(p).catch(() => path.resolve(p));
  const [context, topDir, dockerfile] = await Promise.all([real(b.context), real(top.stdout), real(b.dockerfile)]);
  const specs = ['.'];
  // A Dockerfile outside the context (compose's `dockerfile: ../x.Dockerfile`) shapes the image too.
  if (inside(context, dockerfile) === undefined && inside(topDir, dockerfile) !== undefined)
    specs.push(path.relative(context, dockerfile));
  for (const p of await Promise.all(ignore.map(real))) {
    const rel = inside(context, p);
    if (rel) specs.push(`:(exclude)${rel}`);
  }
  const status = await git(b.context, ['status', '--porcelain', '--', ...specs], signal);
  return { top: top.stdout, commit: head.stdout, dirty: status.code !== 0 || status.stdout.length > 0 };
}

/**
 * The one commit all build contexts are at (dirty when any is), or undefined when they are not all in git at one
 * commit.
 */
function commonCheckout(checkouts: Array<GitCheckout | undefined>): GitCheckout | undefined {
  const [first] = checkouts;
  if (!first || checkouts.some((c) => c?.commit !== first.commit)) return undefined;
  return { ...first, dirty: checkouts.some((c) => c!.dirty) };
}

export async function prepareImages(ctx: RuntimeContext, docker: Docker, opts: PrepareOptions = {}): Promise<Release> {
  const { config, paths } = ctx;
  const redact = ctx.redact ?? ((t: string) => t);
  const signal = opts.signal;
  // Each built service's commit: with --ref the commit the ref names (every context is exported
  // from it); else the checkout its own context is in.
  const commits = new Map<string, GitCheckout | undefined>();
  let source: Source;
  if (opts.ref !== undefined) {
    const checkout = await resolveRef(paths.root, opts.ref, signal);
    source = { checkout, ref: opts.ref };
    for (const [name, svc] of Object.entries(config.services)) if (svc.dockerBuild) commits.set(name, checkout);
  } else {
    const ignore = [paths.dir, ...projectOwnFiles(ctx)];
    for (const [name, svc] of Object.entries(config.services)) {
      if (svc.dockerBuild)
        commits.set(name, await contextCheckout(resolveBuild(paths.root, svc.dockerBuild), ignore, signal));
    }
    source = { checkout: commonCheckout([...commits.values()]) };
  }
  const createdAt = new Date();
  const id = await claimReleaseDir(paths, baseReleaseId(createdAt, source.checkout));
  const made: string[] = [];
  try {
    for (const [name, svc] of Object.entries(config.services)) {
      if (signal?.aborted) throw new SwitchyardError('ABORTED', 'prepare interrupted');
      const tag = imageTag(config.app, name, id);
      if (svc.image !== undefined && !svc.dockerBuild) {
        await pinImage(docker, name, svc.image, tag);
      } else if (svc.dockerBuild) {
        await buildService(
          ctx,
          docker,
          name,
          svc.dockerBuild,
          source,
          commits.get(name),
          id,
          tag,
          createdAt,
          signal,
          redact,
        );
      } else {
        throw new SwitchyardError('CONFIG_INVALID', `service ${name} has neither image nor build`, {
          hint: `set services.${name}.image or services.${name}.build`,
        });
      }
      made.push(tag);
      ctx.log?.(`release ${id}: ${name} image ${tag} ready`);
    }
    const manifest: ReleaseManifest = {
      id,
      createdAt: createdAt.toISOString(),
      services: Object.keys(config.services),
      ...(source.checkout ? { commit: source.checkout.commit, dirty: source.checkout.dirty } : {}),
      ...(source.ref !== undefined ? { ref: source.ref } : {}),
    };
    if (signal?.aborted) throw new SwitchyardError('ABORTED', 'prepare interrupted');
    // The snapshot folders of a --ref build are in the images now; only the manifest stays.
    await clearSnapshots(paths.release(id));
    await writeManifest(paths, manifest);
    return { id, createdAt: manifest.createdAt, ...(manifest.commit ? { commit: manifest.commit } : {}) };
  } catch (e) {
    await removeTags(docker, made);
    await fs.rm(paths.release(id), { recursive: true, force: true });
    throw e;
  }
}

async function clearSnapshots(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir).catch(() => [] as string[]))
    await fs.rm(path.join(dir, entry), { recursive: true, force: true });
}

async function buildService(
  ctx: RuntimeContext,
  docker: Docker,
  name: string,
  spec: DockerBuildConfig,
  source: Source,
  /** The checkout of this service's build context (labelled as switchyard.commit). */
  checkout: GitCheckout | undefined,
  id: string,
  tag: string,
  createdAt: Date,
  signal: AbortSignal | undefined,
  redact: (t: string) => string,
): Promise<void> {
  const { config, paths } = ctx;
  const svc = config.services[name]!;
  const b = resolveBuild(paths.root, spec);
  let context = b.context;
  let dockerfile = b.dockerfile;
  if (source.ref !== undefined && source.checkout) {
    // --ref: build what the commit holds, never the working tree. The Dockerfile comes from the
    // same commit when it lives in the context, else from the working tree (it may be shared).
    context = path.join(paths.release(id), name);
    await archiveInto(source.checkout, source.checkout.commit, b.context, context, config.deploy.exclude, signal);
    const rel = path.relative(b.context, b.dockerfile);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) dockerfile = path.join(context, rel);
  }
  const labels: Record<string, string> = {
    [LABEL.app]: config.app,
    [LABEL.service]: name,
    [LABEL.release]: id,
    [LABEL.created]: createdAt.toISOString(),
    ...(checkout ? { [LABEL.commit]: checkout.commit } : {}),
  };
  await buildImage(docker, {
    what: name,
    context,
    dockerfile,
    tag,
    args: b.args,
    labels,
    exclude: config.deploy.exclude,
    stateDir: [paths.dir, ...projectOwnFiles(ctx)],
    logFile: paths.buildLog(id, name),
    timeoutMs: svc.buildTimeout,
    ...(signal ? { signal } : {}),
    redact,
  }).catch((e: unknown) => {
    if (e instanceof SwitchyardError) throw e;
    throw new SwitchyardError('BUILD_FAILED', `docker build of ${name} failed: ${apiMessage(e)}`, { cause: e });
  });
}
