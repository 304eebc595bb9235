/**
 * The image of switchyard's own code that runs inside the swarm (docs/swarm.md): the edge proxy on
 * every edge node and the short-lived overlay tunnel the CLI talks through. It is this very build
 * of switchyard (dist/switchyard.mjs and its chunks, which hold everything the proxy and the tunnel
 * need) on a base image with Node.js >= 20, tagged by a hash of those files, pushed to the registry
 * the nodes pull from and used pinned by digest. A second deploy with the same build reuses the tag.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { SwitchyardError } from '../../errors.js';
import { packageRoot } from '../../util/package-root.js';
import { call, pushImage, statusOf } from '../docker/index.js';

/** What the build runs in the base when the edge runs nginx. */
const NGINX_CHECK = 'nginx -v';

/** The base image when the config names none: Node.js on Debian, as published on Docker Hub. */
export const DEFAULT_EDGE_BASE = 'node:20-bookworm-slim';

export interface EdgeImageInput {
  app: string;
  registry: string;
  /** An image with Node.js >= 20 on PATH, present on the builder engine (nothing is pulled). */
  base: string;
  /** proxy.kind nginx: the edge replicas run nginx, so the base must have it (checked at build). */
  nginx?: boolean;
  signal?: AbortSignal;
}

/** The files the image carries, relative to the package folder: the CLI bundle and its chunks. */
async function bundleFiles(root: string): Promise<string[]> {
  const main = path.join(root, 'dist', 'switchyard.mjs');
  try {
    await fs.access(main);
  } catch {
    throw new SwitchyardError(
      'BUILD_FAILED',
      `the swarm edge image needs the built CLI bundle, and ${main} is missing`,
      {
        hint: 'run `npm run build` in the switchyard folder (an installed package already has it)',
      },
    );
  }
  const chunks = (await fs.readdir(path.join(root, 'dist', 'chunks')).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.mjs'))
    .sort()
    .map((f) => path.join('dist', 'chunks', f));
  return ['package.json', path.join('dist', 'switchyard.mjs'), ...chunks];
}

const dockerfile = (base: string, nginx: boolean): string =>
  [
    `FROM ${base}`,
    // Fails the build, with a clear error, when the base has no nginx for the edge replicas.
    ...(nginx ? [`RUN ${NGINX_CHECK}`] : []),
    'COPY . /opt/switchyard/',
    'WORKDIR /opt/switchyard',
    'ENTRYPOINT ["node", "/opt/switchyard/dist/switchyard.mjs"]',
    'CMD ["edge-proxy"]',
    '',
  ].join('\n');

/**
 * `<app>-switchyard:<hash>` (pushed as `<registry>/<app>-switchyard:<hash>`): the hash covers the
 * base's name and every file.
 */
export async function edgeImageTag(i: Pick<EdgeImageInput, 'app' | 'base' | 'nginx'>): Promise<{
  tag: string;
  files: string[];
  root: string;
}> {
  const root = packageRoot();
  const files = await bundleFiles(root);
  const h = createHash('sha256')
    .update(i.base)
    .update(i.nginx ? '\0nginx\0' : '\0');
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(await fs.readFile(path.join(root, f)));
  return { tag: `${i.app}-switchyard:${h.digest('hex').slice(0, 16)}`, files, root };
}

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (e) {
    if (statusOf(e) === 404) return false;
    throw e;
  }
}

/** Builds (unless this build's tag is already here) and pushes the edge image; its pinned reference. */
export async function ensureEdgeImage(builder: Docker, i: EdgeImageInput): Promise<string> {
  const { tag, files, root } = await edgeImageTag(i);
  if (!(await call(`inspect ${tag}`, () => imageExists(builder, tag)))) {
    if (!(await call(`inspect ${i.base}`, () => imageExists(builder, i.base)))) {
      throw new SwitchyardError(
        'BUILD_FAILED',
        `the base image ${i.base} of the swarm edge image is not on this engine`,
        {
          hint:
            `pull or build it here (\`docker pull ${i.base}\`)` +
            ', or set swarm.edge.base to an image with Node.js >= 20',
        },
      );
    }
    await buildFrom(builder, tag, { base: i.base, nginx: i.nginx === true }, root, files, i.signal);
  }
  const pushed = await pushImage(builder, tag, i.registry, i.signal ? { signal: i.signal } : {});
  return pushed.pinned;
}

async function buildFrom(
  builder: Docker,
  tag: string,
  from: { base: string; nginx: boolean },
  root: string,
  files: string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'switchyard-edge-'));
  try {
    for (const f of files) {
      await fs.mkdir(path.join(dir, path.dirname(f)), { recursive: true });
      await fs.copyFile(path.join(root, f), path.join(dir, f));
    }
    await fs.writeFile(path.join(dir, 'Dockerfile'), dockerfile(from.base, from.nginx));
    const tar = (await import('tar-fs')).default;
    const stream = tar.pack(dir);
    const out = await builder.buildImage(stream, {
      t: tag,
      rm: true,
      forcerm: true,
      ...(signal ? { abortSignal: signal } : {}),
    });
    const failure = await new Promise<string | undefined>((resolve) => {
      let error: string | undefined;
      builder.modem.followProgress(
        out,
        (err: Error | null) => resolve(err ? err.message : error),
        (ev: { error?: string; errorDetail?: { message?: string } }) => {
          if (ev.error) error = ev.errorDetail?.message ?? ev.error;
        },
      );
    });
    if (failure !== undefined)
      throw new SwitchyardError(
        'BUILD_FAILED',
        `the swarm edge image ${tag} did not build: ${failure}`,
        from.nginx && failure.includes(NGINX_CHECK)
          ? {
              hint:
                `with proxy.kind nginx the edge proxy runs nginx, and ${from.base} has none: set swarm.edge.base ` +
                'to an image with Node.js >= 20 and nginx (e.g. one that adds nginx-light to node:20-bookworm-slim)',
            }
          : {},
      );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
