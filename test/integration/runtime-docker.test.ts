/**
 * The docker runtime against the real engine and images built from examples/docker on the local
 * base image: prepare (and a failing build), start/status/stop of a colour, a container made
 * unhealthy, one that exits on start, shared postgres surviving stop(colour), prune, and an
 * unreachable engine. Everything the app creates is removed in `after`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import type Docker from 'dockerode';
import { isSwitchyardError, type SwitchyardError } from '../../src/errors.js';
import { createDockerRuntime } from '../../src/runtime/docker/index.js';
import { LABEL } from '../../src/runtime/docker/names.js';
import { cleanupApp, dockerClient, dockerProject, exampleBuild, uniqueApp, waitFor } from '../helpers/docker.js';
import { freePort } from '../helpers/project.js';

const APP = uniqueApp();
const health = { path: '/api/health' };
let docker: Docker;
const dirs: string[] = [];

before(async () => {
  docker = await dockerClient();
});
after(async () => {
  if (docker) await cleanupApp(docker, APP);
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function rejects(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSwitchyardError(e), `expected a SwitchyardError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

const timed = { timeout: 120_000 };

describe('docker runtime', { timeout: 600_000 }, () => {
  let project: Awaited<ReturnType<typeof dockerProject>>;
  let release: string;

  before(async () => {
    project = await dockerProject({
      app: APP,
      services: {
        api: { build: exampleBuild.api, port: 5000, health, env: { GREETING: 'hi' }, volumes: ['apidata:/data'], stopTimeout: '5s' },
        web: { build: exampleBuild.frontend, port: 80, health: { path: '/' }, stopTimeout: '5s' },
      },
    });
    dirs.push(project.dir);
  });

  it('prepare builds one image per service, tagged and labelled with the release', timed, async () => {
    const rel = await project.rt.prepare();
    release = rel.id;
    assert.match(release, /^\d{8}-\d{6}-/);
    for (const s of ['api', 'web']) {
      const img = await docker.getImage(`${APP}-${s}:${release}`).inspect();
      assert.equal(img.Config.Labels?.[LABEL.release], release);
      assert.equal(img.Config.Labels?.[LABEL.service], s);
    }
    assert.equal(await project.rt.hasRelease(release), true);
    assert.equal(await project.rt.hasRelease('20000101-000000-nope'), false);
  });

  it('a broken Dockerfile fails with BUILD_FAILED and the build log tail', timed, async () => {
    const ctxDir = path.join(project.dir, 'broken');
    await fs.mkdir(ctxDir, { recursive: true });
    await fs.writeFile(path.join(ctxDir, 'Dockerfile'), 'FROM switchyard/base:bookworm\nRUN echo marker-before-failure && exit 3\n');
    const broken = await dockerProject({ app: APP, services: { bad: { build: './broken', port: 80, health } } }, project.dir);
    const err = await rejects(broken.rt.prepare());
    assert.equal(err.code, 'BUILD_FAILED');
    assert.match(err.message, /marker-before-failure/);
    assert.match(err.message, /exit code: 3|returned a non-zero code: 3/);
    const images = await docker.listImages({ filters: { reference: [`${APP}-bad:*`] } });
    assert.equal(images.length, 0, 'no image left from the failed build');
  });

  it('start blue: named, labelled containers with ENVIRONMENT_NAME, reachable on 127.0.0.1, healthy after the HEALTHCHECK', timed, async () => {
    const run = await project.rt.start('blue', release);
    assert.equal(run.release, release);
    const c = await docker.getContainer(`${APP}-api-blue`).inspect();
    assert.deepEqual(
      [c.Config.Labels[LABEL.app], c.Config.Labels[LABEL.service], c.Config.Labels[LABEL.colour], c.Config.Labels[LABEL.release]],
      [APP, 'api', 'blue', release],
    );
    assert.ok(c.Config.Env.includes('ENVIRONMENT_NAME=blue'));
    assert.ok(c.Config.Env.includes('GREETING=hi'));
    assert.ok(Object.keys(c.NetworkSettings.Networks).includes(`${APP}-net`));
    assert.ok((c.NetworkSettings.Networks[`${APP}-net`]?.Aliases ?? []).includes('api-blue'));
    const ep = await project.rt.endpoints('blue');
    assert.equal(ep.api?.host, '127.0.0.1');
    const res = await waitFor('api answers', async () => {
      const r = await request(`http://127.0.0.1:${ep.api!.port}/api/health`, { headersTimeout: 2_000 });
      const body = (await r.body.json()) as { environment?: string };
      return r.statusCode === 200 ? body : undefined;
    }, 15_000);
    assert.equal(res.environment, 'blue');
    const statuses = await waitFor('healthy', async () => {
      const s = await project.rt.status('blue');
      return s.every((x) => x.running && x.healthy === true) ? s : undefined;
    }, 30_000);
    assert.deepEqual(statuses.map((s) => s.service).sort(), ['api', 'web']);
    assert.equal((await project.rt.current('blue'))?.release, release);
  });

  it('exec (the migrate hook) runs argv in the colour container with its env; failures and timeouts are reported, the program stopped', timed, async () => {
    const ok = await project.rt.exec('blue', 'api', { run: ['node', '-e', 'process.exit(process.env.GREETING === "hi" && process.env.COLOUR === "blue" ? 0 : 5)'], shell: false, timeout: 20_000 }, { env: { COLOUR: 'blue' } });
    assert.deepEqual(ok, { ok: true, detail: '' });
    const bad = await project.rt.exec('blue', 'api', { run: ['node', '-e', 'console.error("relation \\"nope\\" does not exist"); process.exit(3)'], shell: false, timeout: 20_000 });
    assert.equal(bad.ok, false);
    assert.match(bad.detail, /exited with code 3 in container .*-api-blue\n.*relation "nope" does not exist/s);
    const missing = await project.rt.exec('blue', 'api', { run: ['no-such-migrate-tool'], shell: false, timeout: 20_000 });
    assert.equal(missing.ok, false);
    assert.match(missing.detail, /not found or not executable/);
    const t0 = Date.now();
    const slow = await project.rt.exec('blue', 'api', { run: ['node', '-e', 'setTimeout(() => {}, 60000)'], shell: false, timeout: 1_000 });
    assert.equal(slow.ok, false);
    assert.match(slow.detail, /timed out after 1000 ms and was stopped/);
    assert.ok(Date.now() - t0 < 10_000, 'returns promptly after the timeout');
    const top = await docker.getContainer(`${APP}-api-blue`).top();
    assert.ok(!JSON.stringify(top.Processes).includes('60000'), 'the timed-out program is gone from the container');
  });

  it('a container made unhealthy reports running, healthy: false and its health log', timed, async () => {
    const sick = await dockerProject({
      app: APP,
      services: {
        api: { build: exampleBuild.api, port: 5000, health, healthcheck: { test: ['CMD', 'node', '-e', "console.log('probe-says-no'); process.exit(1)"], interval: '500ms', timeout: '2s', retries: 1 } },
      },
    }, project.dir);
    await sick.rt.start('green', release);
    try {
      const s = await waitFor('unhealthy', async () => {
        const [x] = await sick.rt.status('green');
        return x?.healthy === false && /unhealthy/.test(x.detail ?? '') ? x : undefined;
      }, 30_000);
      assert.equal(s.running, true);
      assert.match(s.detail ?? '', /probe-says-no/);
    } finally {
      await sick.rt.stop('green');
    }
    assert.deepEqual(await sick.rt.endpoints('green'), {});
  });

  it('a container that exits on start fails with START_FAILED and leaves nothing behind', timed, async () => {
    const crash = await dockerProject({
      app: APP,
      services: { api: { build: exampleBuild.api, port: 5000, health, command: ['node', '-e', "console.error('boom-on-start'); process.exit(3)"] } },
    }, project.dir);
    const err = await rejects(crash.rt.start('green', release));
    assert.equal(err.code, 'START_FAILED');
    assert.match(err.message, /exited with code 3|exited and was restarted \d+ times? by Docker/);
    assert.match(err.message, /boom-on-start/);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABEL.app}=${APP}`, `${LABEL.colour}=green`] } });
    assert.equal(left.length, 0);
  });

  it('shared postgres starts once, accepts connections and survives stop(colour)', timed, async () => {
    const pgPort = await freePort();
    const withDb = await dockerProject({
      app: APP,
      services: { api: { build: exampleBuild.api, port: 5000, health } },
      shared: { db: { build: exampleBuild.postgres, environment: { POSTGRES_PASSWORD: 'test-pass-123' }, volumes: ['pgdata:/var/lib/postgresql/data'], ports: [`127.0.0.1:${pgPort}:5432`] } },
    }, project.dir);
    const lines = await withDb.rt.startShared!();
    assert.match(lines[0] ?? '', /^db: created, healthy/);
    assert.match((await withDb.rt.startShared!())[0] ?? '', /^db: already running/);
    const ready = await new Promise<number>((resolve) => execFile('pg_isready', ['-h', '127.0.0.1', '-p', String(pgPort), '-t', '10'], (e) => resolve(e ? Number((e as { code?: number }).code ?? 1) : 0)));
    assert.equal(ready, 0, 'pg_isready through the published port');
    await withDb.rt.stop('blue');
    assert.deepEqual(await withDb.rt.endpoints('blue'), {});
    const [db] = await withDb.rt.sharedStatus!();
    assert.equal(db?.running, true);
    assert.equal(db?.healthy, true);
    const vols = await docker.listVolumes({ filters: { label: [`${LABEL.app}=${APP}`] } });
    assert.ok((vols.Volumes ?? []).some((v) => v.Name === `${APP}-pgdata`));
    await withDb.rt.stopShared!();
    assert.equal((await withDb.rt.sharedStatus!())[0]?.running, false);
  });

  it('prune keeps the newest and the protected releases, removes the rest', timed, async () => {
    const second = (await project.rt.prepare()).id;
    const third = (await project.rt.prepare()).id;
    const removed = await project.rt.pruneReleases(1, [release]);
    assert.deepEqual(removed, [second]);
    assert.equal(await project.rt.hasRelease(release), true);
    assert.equal(await project.rt.hasRelease(third), true);
    assert.equal(await project.rt.hasRelease(second), false);
    const tags = (await docker.listImages({ filters: { reference: [`${APP}-api:*`] } })).flatMap((i) => i.RepoTags ?? []);
    assert.ok(!tags.includes(`${APP}-api:${second}`));
  });

  it('engine unreachable: a clear error naming the socket', timed, async () => {
    const rt = createDockerRuntime(project.ctx, { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' });
    const err = await rejects(rt.status('blue'));
    assert.equal(err.code, 'DOCKER_UNREACHABLE');
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /unix:\/\/\/nonexistent\.sock/);
    assert.match(err.hint ?? '', /setup-infra\.sh|dockerd/);
  });
});
