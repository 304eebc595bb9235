/**
 * The docker runtime against the real engine and images built from examples/docker on the local
 * base image: prepare (and a failing build), start/status/stop of a colour (restart policy, mounts,
 * env_file through the real config loader), a container made unhealthy, one that exits on start,
 * `image:` services pinned under the release tag (and one the engine does not have), images
 * labelled and tagged with their build context's git commit, shared postgres surviving
 * stop(colour), prune, and an unreachable engine. Everything the app creates is removed in `after`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import type Docker from 'dockerode';
import { loadConfig } from '../../src/config/load.js';
import { isSwitchyardError, type SwitchyardError } from '../../src/errors.js';
import { createDockerRuntime } from '../../src/runtime/docker/index.js';
import { LABEL } from '../../src/runtime/docker/names.js';
import { readManifest } from '../../src/runtime/release.js';
import type { RuntimeContext } from '../../src/runtime/types.js';
import { projectPaths } from '../../src/state/paths.js';
import {
  BASE_IMAGE,
  cleanupApp,
  dockerClient,
  dockerProject,
  exampleBuild,
  uniqueApp,
  waitFor,
  type DockerProject,
} from '../helpers/docker.js';
import { freePort } from '../helpers/project.js';
import { budget } from '../helpers/budget.js';

const APP = uniqueApp();
const health = { path: '/api/health' };
let docker: Docker;
const dirs: string[] = [];

before(async () => {
  docker = await dockerClient();
}, budget(100));
after(async () => {
  if (docker) await cleanupApp(docker, APP);
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
}, budget(5_000));

async function rejects(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isSwitchyardError(e), `expected a SwitchyardError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a rejection');
}

/**
 * A project read the way the CLI reads it: switchyard.yml (JSON is YAML) and `files` written to a
 * temp folder, then config/load.ts, so each service's env_file is resolved as in production.
 */
async function loadedProject(
  input: { app: string; services: Record<string, unknown> },
  files: Record<string, string> = {},
): Promise<DockerProject> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-docker-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), text);
  }
  const yml = {
    runtime: 'docker',
    proxy: { listen: { http: 1 }, routes: [{ path: '/', service: Object.keys(input.services)[0] }] },
    ...input,
  };
  await fs.writeFile(path.join(dir, 'switchyard.yml'), JSON.stringify(yml, null, 2));
  const loaded = await loadConfig({ cwd: dir });
  const ctx: RuntimeContext = { config: loaded.config, paths: projectPaths(dir), serviceEnv: loaded.serviceEnv };
  return { dir, ctx, rt: createDockerRuntime(ctx) };
}

/** git in a temp repository of the test (never the project's). */
const git = (dir: string, ...args: string[]) =>
  execFileSync(
    'git',
    [
      '-C',
      dir,
      '-c',
      'user.name=switchyard test',
      '-c',
      'user.email=test@example.invalid',
      '-c',
      'commit.gpgsign=false',
      ...args,
    ],
    { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] },
  ).trim();

/**
 * A temp folder with `files`; a git repository with one commit of them when `repo`. Returns the
 * folder and its short commit.
 */
async function tempTree(files: Record<string, string>, repo: boolean): Promise<{ dir: string; commit?: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-docker-git-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), text);
  }
  if (!repo) return { dir };
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'test context');
  return { dir, commit: git(dir, 'rev-parse', '--short', 'HEAD') };
}

/** Whether `dir` is inside a git work tree (the tests below need some folders that are not). */
const inGit = (dir: string) => {
  try {
    execFileSync('git', ['-C', dir, 'rev-parse', '--is-inside-work-tree'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
};

describe('docker runtime', () => {
  let project: Awaited<ReturnType<typeof dockerProject>>;
  let release: string;

  before(async () => {
    project = await loadedProject(
      {
        app: APP,
        services: {
          // api: the default restart policy; GREETING in both env_file and env (env wins).
          api: {
            build: exampleBuild.api,
            port: 5000,
            health,
            env: { GREETING: 'hi' },
            env_file: './api.env',
            volumes: ['apidata:/data', './hostdata:/hostdata:ro'],
            stopTimeout: '5s',
          },
          web: {
            build: exampleBuild.frontend,
            port: 80,
            health: { path: '/' },
            restart: 'on-failure',
            stopTimeout: '5s',
          },
        },
      },
      {
        'api.env': '# the api service env_file\nFROM_ENV_FILE=from-the-env-file\nGREETING=from-the-env-file\n',
        'hostdata/hello.txt': 'hello from the host\n',
      },
    );
  }, budget(100));

  it('prepare builds one image per service, tagged and labelled with the release', budget(3_200), async () => {
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

  it('a broken Dockerfile fails with BUILD_FAILED and the build log tail', budget(500), async () => {
    const ctxDir = path.join(project.dir, 'broken');
    await fs.mkdir(ctxDir, { recursive: true });
    await fs.writeFile(
      path.join(ctxDir, 'Dockerfile'),
      'FROM switchyard/base:bookworm\nRUN echo marker-before-failure && exit 3\n',
    );
    const broken = await dockerProject(
      { app: APP, services: { bad: { build: './broken', port: 80, health } } },
      project.dir,
    );
    const err = await rejects(broken.rt.prepare());
    assert.equal(err.code, 'BUILD_FAILED');
    assert.match(err.message, /marker-before-failure/);
    assert.match(err.message, /exit code: 3|returned a non-zero code: 3/);
    const images = await docker.listImages({ filters: { reference: [`${APP}-bad:*`] } });
    assert.equal(images.length, 0, 'no image left from the failed build');
  });

  it(
    'start blue: named, labelled containers with ENVIRONMENT_NAME, reachable on 127.0.0.1, ' +
      'healthy after the HEALTHCHECK',
    budget(3_100),
    async () => {
      const run = await project.rt.start('blue', release);
      assert.equal(run.release, release);
      const c = await docker.getContainer(`${APP}-api-blue`).inspect();
      assert.deepEqual(
        [
          c.Config.Labels[LABEL.app],
          c.Config.Labels[LABEL.service],
          c.Config.Labels[LABEL.colour],
          c.Config.Labels[LABEL.release],
        ],
        [APP, 'api', 'blue', release],
      );
      assert.equal(c.Config.Labels[LABEL.instance], '1', 'a service of one instance is instance 1');
      assert.ok(c.Config.Env.includes('ENVIRONMENT_NAME=blue'));
      assert.ok(c.Config.Env.includes('SWITCHYARD_INSTANCE=1'));
      assert.ok(c.Config.Env.includes('GREETING=hi'), 'env wins over the env_file');
      assert.ok(!c.Config.Env.includes('GREETING=from-the-env-file'));
      assert.ok(
        c.Config.Env.includes('FROM_ENV_FILE=from-the-env-file'),
        `a variable of the env_file: ${c.Config.Env.join(' ')}`,
      );
      // Restart policy: api has the default, web the configured one.
      assert.equal(c.HostConfig.RestartPolicy?.Name, 'unless-stopped');
      assert.equal(
        (await docker.getContainer(`${APP}-web-blue`).inspect()).HostConfig.RestartPolicy?.Name,
        'on-failure',
      );
      // The named volume (prefixed with the app) and the host folder (read-only), as configured.
      const byDest = Object.fromEntries(c.Mounts.map((m) => [m.Destination, m]));
      assert.deepEqual(
        { type: byDest['/data']?.Type, name: byDest['/data']?.Name, rw: byDest['/data']?.RW },
        { type: 'volume', name: `${APP}-apidata`, rw: true },
        JSON.stringify(c.Mounts),
      );
      assert.deepEqual(
        { type: byDest['/hostdata']?.Type, source: byDest['/hostdata']?.Source, rw: byDest['/hostdata']?.RW },
        { type: 'bind', source: path.join(project.dir, 'hostdata'), rw: false },
        JSON.stringify(c.Mounts),
      );
      const vol = await docker.getVolume(`${APP}-apidata`).inspect();
      assert.equal(vol.Labels?.[LABEL.app], APP, 'the volume is labelled with the app');
      assert.ok(Object.keys(c.NetworkSettings.Networks).includes(`${APP}-net`));
      assert.ok((c.NetworkSettings.Networks[`${APP}-net`]?.Aliases ?? []).includes('api-blue'));
      const ep = await project.rt.endpoints('blue');
      assert.deepEqual(
        ep.api?.map((e) => e.host),
        ['127.0.0.1'],
        'one endpoint: the service has one instance',
      );
      const res = await waitFor(
        'api answers',
        async () => {
          const r = await request(`http://127.0.0.1:${ep.api![0]!.port}/api/health`, { headersTimeout: 2_000 });
          const body = (await r.body.json()) as { environment?: string };
          return r.statusCode === 200 ? body : undefined;
        },
        15_000,
      );
      assert.equal(res.environment, 'blue');
      const statuses = await waitFor(
        'healthy',
        async () => {
          const s = await project.rt.status('blue');
          return s.every((x) => x.running && x.healthy === true) ? s : undefined;
        },
        30_000,
      );
      assert.deepEqual(statuses.map((s) => s.service).sort(), ['api', 'web']);
      assert.equal((await project.rt.current('blue'))?.release, release);
    },
  );

  it(
    'exec (the migrate hook) runs argv in the colour container with its env; ' +
      'failures and timeouts are reported, the program stopped',
    budget(1_700),
    async () => {
      const ok = await project.rt.exec(
        'blue',
        'api',
        {
          run: ['node', '-e', 'process.exit(process.env.GREETING === "hi" && process.env.COLOUR === "blue" ? 0 : 5)'],
          shell: false,
          timeout: 20_000,
        },
        { env: { COLOUR: 'blue' } },
      );
      assert.deepEqual(ok, { ok: true, detail: '' });
      const mounted = await project.rt.exec('blue', 'api', {
        run: [
          'node',
          '-e',
          'process.exit(require("fs").readFileSync("/hostdata/hello.txt", "utf8") === "hello from the host\\n" && ' +
            'process.env.FROM_ENV_FILE === "from-the-env-file" ? 0 : 4)',
        ],
        shell: false,
        timeout: 20_000,
      });
      assert.deepEqual(
        mounted,
        { ok: true, detail: '' },
        'the host folder is mounted and the env_file variable is set inside the container',
      );
      const bad = await project.rt.exec('blue', 'api', {
        run: ['node', '-e', 'console.error("relation \\"nope\\" does not exist"); process.exit(3)'],
        shell: false,
        timeout: 20_000,
      });
      assert.equal(bad.ok, false);
      assert.match(bad.detail, /exited with code 3 in container .*-api-blue\n.*relation "nope" does not exist/s);
      const missing = await project.rt.exec('blue', 'api', {
        run: ['no-such-migrate-tool'],
        shell: false,
        timeout: 20_000,
      });
      assert.equal(missing.ok, false);
      assert.match(missing.detail, /not found or not executable/);
      const t0 = Date.now();
      const slow = await project.rt.exec('blue', 'api', {
        run: ['node', '-e', 'setTimeout(() => {}, 60000)'],
        shell: false,
        timeout: 1_000,
      });
      assert.equal(slow.ok, false);
      assert.match(slow.detail, /timed out after 1000 ms and was stopped/);
      assert.ok(Date.now() - t0 < 10_000, 'returns promptly after the timeout');
      const top = await docker.getContainer(`${APP}-api-blue`).top();
      assert.ok(!JSON.stringify(top.Processes).includes('60000'), 'the timed-out program is gone from the container');
    },
  );

  it('a container made unhealthy reports running, healthy: false and its health log', budget(11_100), async () => {
    const sick = await dockerProject(
      {
        app: APP,
        services: {
          api: {
            build: exampleBuild.api,
            port: 5000,
            health,
            healthcheck: {
              test: ['CMD', 'node', '-e', "console.log('probe-says-no'); process.exit(1)"],
              interval: '500ms',
              timeout: '2s',
              retries: 1,
            },
          },
        },
      },
      project.dir,
    );
    await sick.rt.start('green', release);
    try {
      const s = await waitFor(
        'unhealthy',
        async () => {
          const [x] = await sick.rt.status('green');
          return x?.healthy === false && /unhealthy/.test(x.detail ?? '') ? x : undefined;
        },
        30_000,
      );
      assert.equal(s.running, true);
      assert.match(s.detail ?? '', /probe-says-no/);
    } finally {
      await sick.rt.stop('green');
    }
    assert.deepEqual(await sick.rt.endpoints('green'), {});
  });

  it('a container that exits on start fails with START_FAILED and leaves nothing behind', budget(500), async () => {
    const crash = await dockerProject(
      {
        app: APP,
        services: {
          api: {
            build: exampleBuild.api,
            port: 5000,
            health,
            command: ['node', '-e', "console.error('boom-on-start'); process.exit(3)"],
          },
        },
      },
      project.dir,
    );
    const err = await rejects(crash.rt.start('green', release));
    assert.equal(err.code, 'START_FAILED');
    assert.match(err.message, /exited with code 3|exited and was restarted \d+ times? by Docker/);
    assert.match(err.message, /boom-on-start/);
    const left = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.app}=${APP}`, `${LABEL.colour}=green`] },
    });
    assert.equal(left.length, 0);
  });

  it(
    'image: a local tag is pinned under the release tag; the release keeps its image when the tag moves',
    budget(3_000),
    async () => {
      const upstream = `${APP}-upstream:v1`;
      await docker.getImage(BASE_IMAGE).tag({ repo: `${APP}-upstream`, tag: 'v1' });
      const baseId = (await docker.getImage(BASE_IMAGE).inspect()).Id;
      // Its own project folder: prune (below) counts the release folders of `project`.
      const pinned = await dockerProject({
        app: APP,
        services: {
          pin: {
            image: upstream,
            port: 8080,
            health: { path: '/' },
            command: [
              'node',
              '-e',
              "require('http').createServer((q, s) => s.end('pinned ' + process.env.ENVIRONMENT_NAME))" +
                ".listen(+process.env.PORT, '0.0.0.0')",
            ],
            stopTimeout: '1s',
          },
        },
      });
      dirs.push(pinned.dir);
      const rel = await pinned.rt.prepare();
      assert.equal(
        (await docker.getImage(`${APP}-pin:${rel.id}`).inspect()).Id,
        baseId,
        'the release tag names the image the tag named',
      );
      assert.equal(await pinned.rt.hasRelease(rel.id), true);
      assert.deepEqual((await readManifest(pinned.ctx.paths, rel.id))?.services, ['pin']);

      // The user's tag moves to another image (here the api's): the release still starts the pinned one.
      await docker.getImage(`${APP}-api:${release}`).tag({ repo: `${APP}-upstream`, tag: 'v1' });
      assert.notEqual((await docker.getImage(upstream).inspect()).Id, baseId, 'the tag moved');
      assert.equal((await docker.getImage(`${APP}-pin:${rel.id}`).inspect()).Id, baseId);
      await pinned.rt.start('green', rel.id);
      try {
        const c = await docker.getContainer(`${APP}-pin-green`).inspect();
        assert.equal(c.Image, baseId, 'the container runs the pinned image');
        assert.equal(c.Config.Image, `${APP}-pin:${rel.id}`);
        const ep = await pinned.rt.endpoints('green');
        const body = await waitFor(
          'the pinned service answers',
          async () => {
            const r = await request(`http://127.0.0.1:${ep.pin![0]!.port}/`, { headersTimeout: 2_000 });
            const text = await r.body.text();
            return r.statusCode === 200 ? text : undefined;
          },
          15_000,
        );
        assert.equal(body, 'pinned green');
      } finally {
        await pinned.rt.stop('green');
      }
      assert.deepEqual(await pinned.rt.endpoints('green'), {});
    },
  );

  it(
    'image: a tag this engine does not have fails at once with BUILD_FAILED naming it (no pull), ' +
      'and leaves no tag or release behind',
    budget(100),
    async () => {
      const missing = `${APP}-missing:nope`;
      assert.equal(
        (await docker.listImages({ filters: { reference: [missing] } })).length,
        0,
        'the image really is missing',
      );
      const upstream = `${APP}-upstream:v1`;
      await docker.getImage(BASE_IMAGE).tag({ repo: `${APP}-upstream`, tag: 'v1' });
      // `first` is pinned before `second` fails: its tag must go again.
      const broken = await dockerProject({
        app: APP,
        services: {
          first: { image: upstream, port: 8080, health: { path: '/' } },
          second: { image: missing, port: 8080, health: { path: '/' } },
        },
      });
      dirs.push(broken.dir);
      const t0 = Date.now();
      const err = await rejects(broken.rt.prepare());
      assert.ok(Date.now() - t0 < 10_000, `failed at once (${Date.now() - t0} ms): nothing was pulled`);
      assert.equal(err.code, 'BUILD_FAILED');
      assert.equal(err.exitCode, 1);
      assert.equal(err.message, `image ${missing} of service second is not on this Docker engine`);
      assert.match(err.hint ?? '', /docker build -t .*-missing:nope|docker load/);
      assert.match(err.hint ?? '', /services\.second\.build/);
      assert.equal(
        (await docker.listImages({ filters: { reference: [`${APP}-first:*`, `${APP}-second:*`, missing] } })).length,
        0,
        'no tag left',
      );
      assert.deepEqual(await fs.readdir(broken.ctx.paths.releases).catch(() => []), [], 'no release folder left');
    },
  );

  it(
    'build: the image is tagged and labelled with the git commit of its build context, not of the project folder',
    budget(4_100),
    async () => {
      const dockerfile = `FROM ${BASE_IMAGE}\nCOPY hello.txt /hello.txt\n`;
      const ctxRepo = await tempTree({ Dockerfile: dockerfile, 'hello.txt': 'one\n' }, true);
      const plainCtx = await tempTree({ Dockerfile: dockerfile, 'hello.txt': 'plain\n' }, false);
      // A project folder in its own repository, whose own context (app/) has its Dockerfile beside it.
      const rootRepo = await tempTree(
        {
          'README.md': 'project\n',
          'root.Dockerfile': `FROM ${BASE_IMAGE}\nCOPY README.md /README.md\n`,
          'app/hello.txt': 'root\n',
          'app.Dockerfile': dockerfile,
        },
        true,
      );
      const plainRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-docker-plain-'));
      dirs.push(plainRoot);
      assert.equal(inGit(plainRoot), false, `${plainRoot} must not be inside a git work tree`);
      assert.equal(inGit(plainCtx.dir), false, `${plainCtx.dir} must not be inside a git work tree`);
      assert.notEqual(ctxRepo.commit, rootRepo.commit);

      // `-2`, `-3`: a second release of the same commit in the same second (same project folder).
      const idOf = (commit: string | undefined, dirty = false) =>
        new RegExp(`^\\d{8}-\\d{6}-${commit}${dirty ? '-dirty' : ''}(-\\d+)?$`);
      const build = async (root: string, service: string, spec: { context: string; dockerfile?: string }) => {
        const pr = await dockerProject(
          { app: APP, services: { [service]: { build: { ...spec, args: {} }, port: 80, health } } },
          root,
        );
        const rel = await pr.rt.prepare();
        const img = await docker.getImage(`${APP}-${service}:${rel.id}`).inspect();
        return { rel, label: img.Config.Labels?.[LABEL.commit], manifest: await readManifest(pr.ctx.paths, rel.id) };
      };

      // 1. Project folder outside git, context in a repository: its commit (the old code had none).
      const a = await build(plainRoot, 'gita', { context: ctxRepo.dir });
      assert.match(a.rel.id, idOf(ctxRepo.commit), 'the tag carries the commit');
      assert.equal(a.rel.commit, ctxRepo.commit);
      assert.equal(a.label, ctxRepo.commit, 'switchyard.commit label');
      assert.deepEqual([a.manifest?.commit, a.manifest?.dirty], [ctxRepo.commit, false]);

      // 2. The context with an uncommitted change: the same commit, marked dirty in the tag.
      await fs.writeFile(path.join(ctxRepo.dir, 'hello.txt'), 'two\n');
      const b = await build(plainRoot, 'gitb', { context: ctxRepo.dir });
      assert.match(b.rel.id, idOf(ctxRepo.commit, true));
      assert.equal(b.label, ctxRepo.commit);
      assert.equal(b.manifest?.dirty, true);
      await fs.writeFile(path.join(ctxRepo.dir, 'hello.txt'), 'one\n');

      // 3. Project folder in one repository, context in another: the context's commit (the old code: the project's).
      const c = await build(rootRepo.dir, 'gitc', { context: ctxRepo.dir });
      assert.match(c.rel.id, idOf(ctxRepo.commit));
      assert.ok(!c.rel.id.includes(rootRepo.commit!), c.rel.id);
      assert.equal(c.label, ctxRepo.commit);

      // 4. Project folder in a repository, context in none: no commit at all (the old code: the project's).
      const d = await build(rootRepo.dir, 'gitd', { context: plainCtx.dir });
      assert.match(d.rel.id, /^\d{8}-\d{6}-[0-9a-f]{6}(-\d+)?$/, 'a random suffix');
      assert.ok(!d.rel.id.includes(rootRepo.commit!), d.rel.id);
      assert.equal(d.label, undefined, 'no switchyard.commit label');
      assert.equal(d.manifest?.commit, undefined);

      // 5. The project folder as the context: switchyard's state folder (made by the builds above)
      //    and .current-env are untracked files there, and no change of the app.
      await fs.writeFile(path.join(rootRepo.dir, '.current-env'), 'blue\n');
      const e = await build(rootRepo.dir, 'gite', { context: '.', dockerfile: 'root.Dockerfile' });
      assert.match(e.rel.id, idOf(rootRepo.commit), `clean: ${git(rootRepo.dir, 'status', '--porcelain')}`);
      assert.equal(e.label, rootRepo.commit);

      // 6. A context whose Dockerfile lives outside it, in the same repository: a change to that
      // Dockerfile is a change.
      const f = await build(rootRepo.dir, 'gitf', { context: './app', dockerfile: '../app.Dockerfile' });
      assert.match(f.rel.id, idOf(rootRepo.commit));
      assert.equal(f.label, rootRepo.commit);
      await fs.appendFile(path.join(rootRepo.dir, 'app.Dockerfile'), 'RUN true\n');
      const g = await build(rootRepo.dir, 'gitg', { context: './app', dockerfile: '../app.Dockerfile' });
      assert.match(g.rel.id, idOf(rootRepo.commit, true), 'the changed Dockerfile makes the release dirty');
      assert.equal(g.label, rootRepo.commit);
    },
  );

  it('shared postgres starts once, accepts connections and survives stop(colour)', budget(4_400), async () => {
    const pgPort = await freePort();
    const withDb = await dockerProject(
      {
        app: APP,
        services: { api: { build: exampleBuild.api, port: 5000, health } },
        shared: {
          db: {
            build: exampleBuild.postgres,
            environment: { POSTGRES_PASSWORD: 'test-pass-123' },
            volumes: ['pgdata:/var/lib/postgresql/data'],
            ports: [`127.0.0.1:${pgPort}:5432`],
          },
        },
      },
      project.dir,
    );
    const lines = await withDb.rt.startShared!();
    assert.match(lines[0] ?? '', /^db: created, healthy/);
    assert.match((await withDb.rt.startShared!())[0] ?? '', /^db: already running/);
    const ready = await new Promise<number>((resolve) =>
      execFile('pg_isready', ['-h', '127.0.0.1', '-p', String(pgPort), '-t', '10'], (e) =>
        resolve(e ? Number((e as { code?: number }).code ?? 1) : 0),
      ),
    );
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

  it('prune keeps the newest and the protected releases, removes the rest', budget(1_600), async () => {
    const second = (await project.rt.prepare()).id;
    const third = (await project.rt.prepare()).id;
    const removed = await project.rt.pruneReleases(1, [release]);
    assert.deepEqual(removed, [second]);
    assert.equal(await project.rt.hasRelease(release), true);
    assert.equal(await project.rt.hasRelease(third), true);
    assert.equal(await project.rt.hasRelease(second), false);
    const tags = (await docker.listImages({ filters: { reference: [`${APP}-api:*`] } })).flatMap(
      (i) => i.RepoTags ?? [],
    );
    assert.ok(!tags.includes(`${APP}-api:${second}`));
  });

  it('engine unreachable: a clear error naming the socket', budget(100), async () => {
    const rt = createDockerRuntime(project.ctx, { ...process.env, DOCKER_HOST: 'unix:///nonexistent.sock' });
    const err = await rejects(rt.status('blue'));
    assert.equal(err.code, 'DOCKER_UNREACHABLE');
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /unix:\/\/\/nonexistent\.sock/);
    assert.match(err.hint ?? '', /setup-infra\.sh|dockerd/);
  });
});
