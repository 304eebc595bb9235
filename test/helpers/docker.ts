/**
 * Docker test helpers: a unique app name per test file (so parallel files never share objects),
 * a runtime over a temp project, and a cleanup that removes every container, network, volume and
 * image the app's name or labels mark as ours. Tests fail (never skip) when the engine is missing.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { createClient } from '../../src/runtime/docker/client.js';
import { createDockerRuntime } from '../../src/runtime/docker/index.js';
import { LABEL } from '../../src/runtime/docker/names.js';
import type { Runtime, RuntimeContext } from '../../src/runtime/types.js';
import { projectPaths } from '../../src/state/paths.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BASE_IMAGE = 'switchyard/base:bookworm';
export const EXAMPLES = path.join(ROOT, 'examples');

/** The example app's build specs (the Dockerfiles live beside, not inside, the contexts). */
export const exampleBuild = {
  api: {
    context: path.join(EXAMPLES, 'app', 'api'),
    dockerfile: path.join(EXAMPLES, 'docker', 'api.Dockerfile'),
    args: { BASE: BASE_IMAGE },
  },
  frontend: {
    context: path.join(EXAMPLES, 'app', 'frontend'),
    dockerfile: path.join(EXAMPLES, 'docker', 'frontend.Dockerfile'),
    args: { BASE: BASE_IMAGE },
  },
  postgres: {
    context: path.join(EXAMPLES, 'docker'),
    dockerfile: path.join(EXAMPLES, 'docker', 'postgres.Dockerfile'),
    args: { BASE: BASE_IMAGE },
  },
};

export function uniqueApp(prefix = 'syt'): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function dockerClient(): Promise<Docker> {
  const d = await createClient();
  await d.ping();
  return d;
}

export interface DockerProject {
  dir: string;
  ctx: RuntimeContext;
  rt: Runtime;
}

/** A temp project folder with the given config (not written as YAML: the runtime gets the parsed config). */
export async function dockerProject(
  input: Omit<ConfigInput, 'runtime' | 'proxy'> & { proxy?: ConfigInput['proxy'] },
  dir?: string,
): Promise<DockerProject> {
  const root = dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'sy-docker-')));
  const config = configSchema.parse({
    runtime: 'docker',
    proxy: { listen: { http: 1 }, routes: [{ path: '/', service: Object.keys(input.services)[0] }] },
    ...input,
  });
  const serviceEnv = Object.fromEntries(Object.entries(config.services).map(([n, s]) => [n, { ...s.env }]));
  const ctx: RuntimeContext = { config, paths: projectPaths(root), serviceEnv };
  return { dir: root, ctx, rt: createDockerRuntime(ctx) };
}

/** Removes everything of `app`: containers, networks, volumes (by label) and images (by label or `<app>-` tag). */
export async function cleanupApp(docker: Docker, app: string): Promise<string[]> {
  const removed: string[] = [];
  const label = { label: [`${LABEL.app}=${app}`] };
  for (const c of await docker.listContainers({ all: true, filters: label })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
    removed.push(`container ${c.Names[0] ?? c.Id}`);
  }
  for (const n of await docker.listNetworks({ filters: label })) {
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
    removed.push(`network ${n.Name}`);
  }
  const vols = (await docker.listVolumes({ filters: label })).Volumes ?? [];
  for (const v of vols) {
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
    removed.push(`volume ${v.Name}`);
  }
  for (const img of await docker.listImages({ all: true })) {
    const ours = img.Labels?.[LABEL.app] === app || (img.RepoTags ?? []).some((t) => t.startsWith(`${app}-`));
    if (!ours) continue;
    for (const t of (img.RepoTags ?? []).filter((x) => x.startsWith(`${app}-`)))
      await docker
        .getImage(t)
        .remove()
        .catch(() => undefined);
    if (img.Labels?.[LABEL.app] === app)
      await docker
        .getImage(img.Id)
        .remove({ force: true })
        .catch(() => undefined);
    removed.push(`image ${img.RepoTags?.join(',') ?? img.Id}`);
  }
  return removed;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
