/**
 * The swarm runtime (src/runtime/swarm/index.ts, issue 13) on the real three-node test swarm
 * (scripts/swarm-infra.sh): a project with one service `api` of 2 instances, built here from a tiny
 * Dockerfile on the base image (a node server on $PORT answering with its SWITCHYARD_INSTANCE and
 * colour). prepare builds, pushes to the swarm's registry and records the pinned references;
 * start makes `<app>_api_blue` with 2 running tasks (keyed `api`, `api.2`, on sysw-n* nodes, each
 * answering as its instance); a second start of blue is refused; stop removes the services and is
 * idempotent; a constraint no node meets, and a command that exits at once, fail the start with
 * the engine's words and leave nothing; a registry that refuses the push fails prepare with
 * PUSH_FAILED and leaves no release. Fails, never skips, when the swarm is not up. Everything of
 * the test's app (services, overlay network, local, node and registry images) is removed in
 * `after`, whatever failed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { createSwarmRuntime, SWARM_IMAGES, type SwarmImages } from '../../src/runtime/swarm/index.js';
import type { Runtime } from '../../src/runtime/types.js';
import { SwitchyardError } from '../../src/errors.js';
import { dockerClient, dockerProject, uniqueApp, waitFor, type DockerProject } from '../helpers/docker.js';
import { freePort } from '../helpers/backends.js';
import { cleanupPushedApp, managerClient } from '../helpers/swarm.js';
import { budget } from '../helpers/budget.js';

const SOCK = (n: number) => `/run/sysw/n${n}.sock`;
const REGISTRY = '10.77.0.1:5000';
const APP = uniqueApp('sysr');
const SERVICE = `${APP}_api_blue`;
let manager: Docker;
let builder: Docker;
let dir: string;
let project: DockerProject;
let rt: Runtime;
let release: string;
let pinned: string;

/** docker against node n of the swarm. */
const on = (n: number, ...args: string[]) =>
  execFileSync('docker', ['-H', `unix://${SOCK(n)}`, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });

/** The same, for cleanup: '' when the node refuses. */
function _quiet(n: number, ...args: string[]): string {
  try {
    return on(n, ...args);
  } catch {
    return '';
  }
}

const SERVER = `
const http = require('http');
const e = process.env;
http.createServer((q, s) => {
  s.setHeader('content-type', 'application/json');
  s.end(JSON.stringify({ instance: e.SWITCHYARD_INSTANCE, colour: e.SWITCHYARD_COLOUR }));
}).listen(+e.PORT, '0.0.0.0');
process.on('SIGTERM', () => process.exit(0));
`;

const appServices = () =>
  (manager.listServices({ filters: { label: [`switchyard.app=${APP}`] } }) as Promise<unknown[]>).then((l) =>
    (l as { Spec: { Name: string } }[]).map((s) => s.Spec.Name).sort(),
  );

/** The tasks of the blue service the manager means to run, with their state. */
const blueTasks = async () =>
  (
    (await manager.listTasks({ filters: { service: [SERVICE], 'desired-state': ['running'] } })) as {
      ID: string;
      Slot: number;
      Status: { State: string };
    }[]
  ).sort((a, b) => a.Slot - b.Slot);

/** The ids of the service's containers on each node (only the running ones with `running`). */
function containersOnNodes(service: string, running = false): { node: number; id: string }[] {
  return [1, 2, 3].flatMap((n) =>
    on(n, 'ps', running ? '-q' : '-aq', '--filter', `label=com.docker.swarm.service.name=${service}`)
      .split('\n')
      .filter((id) => id.length > 0)
      .map((id) => ({ node: n, id })),
  );
}

before(async () => {
  manager = await managerClient();
  builder = await dockerClient();
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-swarm-rt-'));
  await fs.mkdir(path.join(dir, 'api'));
  await fs.writeFile(path.join(dir, 'api', 'server.js'), SERVER);
  await fs.writeFile(
    path.join(dir, 'api', 'Dockerfile'),
    'FROM switchyard/base:bookworm\nCOPY server.js /srv/server.js\nCMD ["node", "/srv/server.js"]\n',
  );
  project = await dockerProject(
    {
      app: APP,
      services: {
        api: { build: { context: 'api' }, port: 8080, instances: 2, health: { path: '/' }, stopTimeout: '2s' },
      },
    },
    dir,
  );
  rt = createSwarmRuntime(project.ctx, { manager, builder, registry: REGISTRY, edgeBase: 'switchyard/base:bookworm' });
}, budget(200));

after(async () => {
  if (!manager) return;
  await rt?.close?.();
  // Services, the network, node images by reference, local and registry-named tags, the pushed manifest.
  await cleanupPushedApp(APP, 'api', pinned);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}, budget(8_000));

describe('swarm runtime: a colour as swarm services', () => {
  it('prepare builds, pushes and records each service pinned by digest', budget(3_000), async () => {
    release = (await rt.prepare()).id;
    const recorded = JSON.parse(
      await fs.readFile(path.join(project.ctx.paths.release(release), SWARM_IMAGES), 'utf8'),
    ) as SwarmImages;
    assert.equal(recorded.release, release);
    assert.equal(recorded.registry, REGISTRY);
    pinned = recorded.images.api ?? '';
    assert.match(pinned, new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/${APP}-api@sha256:[0-9a-f]{64}$`));
    assert.deepEqual(Object.keys(recorded.images), ['api']);
    // The registry has the release's tag, and it is the pinned digest.
    const res = await fetch(`http://${REGISTRY}/v2/${APP}-api/manifests/${release}`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), pinned.split('@')[1]);
    assert.equal(await rt.hasRelease(release), true);
    assert.equal(await rt.hasRelease('20200101-000000-abcdef'), false);
  });

  it(
    'start blue: two running tasks on the nodes, keyed api and api.2, each answering as its instance',
    budget(6_000),
    async () => {
      const run = await rt.start('blue', release);
      assert.equal(run.colour, 'blue');
      assert.equal(run.release, release);
      assert.deepEqual(Object.keys(run.services).sort(), ['api', 'api.2']);
      for (const s of Object.values(run.services)) assert.deepEqual([s.pid, s.port], [0, 0]);

      const tasks = await blueTasks();
      assert.deepEqual(
        tasks.map((t) => [t.Slot, t.Status.State]),
        [
          [1, 'running'],
          [2, 'running'],
        ],
      );
      const spec = (await manager.getService(SERVICE).inspect()) as {
        Spec: { TaskTemplate: { ContainerSpec: { Image: string } }; Labels: Record<string, string> };
      };
      assert.equal(spec.Spec.TaskTemplate.ContainerSpec.Image, pinned, 'the service runs the pinned image');
      assert.equal(spec.Spec.Labels['switchyard.release'], release);
      const net = (await manager.getNetwork(`${APP}-net`).inspect()) as {
        Driver: string;
        Attachable: boolean;
        Labels: Record<string, string>;
      };
      assert.deepEqual([net.Driver, net.Attachable, net.Labels['switchyard.app']], ['overlay', true, APP]);

      const status = await rt.status('blue');
      assert.deepEqual(
        status.map((s) => [s.service, s.running]),
        [
          ['api', true],
          ['api.2', true],
        ],
        JSON.stringify(status),
      );
      for (const s of status) assert.match(s.detail ?? '', /^running on sysw-n[123]$/);
      const current = await rt.current('blue');
      assert.equal(current?.release, release);
      assert.deepEqual(Object.keys(current?.services ?? {}).sort(), ['api', 'api.2']);

      // Each task's container, on whichever node it landed, answers on $PORT as its instance.
      const answers = containersOnNodes(SERVICE).map(({ node, id }) =>
        JSON.parse(
          on(
            node,
            'exec',
            id,
            'node',
            '-e',
            "require('http').get('http://127.0.0.1:8080/', (r) => r.pipe(process.stdout))",
          ),
        ),
      );
      assert.deepEqual(
        answers.sort((a, b) => String(a.instance).localeCompare(String(b.instance))),
        [
          { instance: '1', colour: 'blue' },
          { instance: '2', colour: 'blue' },
        ],
      );

      // The other colour: nothing there.
      assert.equal(await rt.current('green'), undefined);
      assert.deepEqual(
        (await rt.status('green')).map((s) => [s.service, s.running, s.detail]),
        [
          ['api', false, 'no task (green is not started)'],
          ['api.2', false, 'no task (green is not started)'],
        ],
      );
      // From here, each task through the tunnel into the overlay: a loopback forward per instance.
      const ends = await rt.endpoints('blue');
      assert.equal(ends.api?.length, 2);
      const through = await Promise.all(
        ends.api!.map(async (e) => {
          assert.equal(e.host, '127.0.0.1');
          return (await (await fetch(`http://127.0.0.1:${e.port}/`)).json()) as { instance: string };
        }),
      );
      assert.deepEqual(
        through.map((a) => a.instance),
        ['1', '2'],
        'instance 1 first',
      );
      assert.deepEqual(await rt.endpoints('green'), {});
      // A one-off task of blue's api (runtime/swarm/oneoff.ts; e2e/swarm-database runs a real migration).
      assert.deepEqual(await rt.exec('blue', 'api', { run: ['true'], shell: false, timeout: 60_000 }), {
        ok: true,
        detail: '',
      });
    },
  );

  it('a second start of blue is refused, and blue keeps running as it was', budget(1_000), async () => {
    const before = (await blueTasks()).map((t) => t.ID);
    const err = await rt.start('blue', release).then(
      () => assert.fail('the second start succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SwitchyardError, String(err));
    assert.equal(err.code, 'START_FAILED');
    assert.match(err.message, new RegExp(`^blue is already running \\(${SERVICE}, release ${release}\\)$`));
    assert.deepEqual(
      (await blueTasks()).map((t) => t.ID),
      before,
    );
  });

  it(
    'stop blue removes its services, their containers stopped then gone; a second stop is a no-op',
    budget(6_500),
    async () => {
      await rt.stop('blue');
      assert.deepEqual(await appServices(), [], 'no service of the app left');
      // Every container stopped when stop returns; each node removes its stopped ones right after.
      assert.deepEqual(containersOnNodes(SERVICE, true), [], 'no container of the service runs on any node');
      await waitFor(
        'the nodes to remove the stopped containers',
        async () => (containersOnNodes(SERVICE).length === 0 ? true : undefined),
        15_000,
      );
      assert.equal(await rt.current('blue'), undefined);
      assert.deepEqual(
        (await rt.status('blue')).map((s) => [s.service, s.running]),
        [
          ['api', false],
          ['api.2', false],
        ],
      );
      await rt.stop('blue');
      assert.deepEqual(await appServices(), []);
    },
  );

  it(
    "a constraint no node meets: start fails with the scheduler's words and leaves no service",
    budget(2_000),
    async () => {
      const nowhere = createSwarmRuntime(project.ctx, {
        manager,
        builder,
        registry: REGISTRY,
        constraints: ['node.labels.zone==nowhere'],
      });
      const t0 = performance.now();
      const err = await nowhere.start('green', release).then(
        () => assert.fail('the start succeeded'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SwitchyardError, String(err));
      assert.equal(err.code, 'START_FAILED');
      assert.match(err.message, new RegExp(`a task of ${APP}_api_green cannot be placed: no suitable node`));
      assert.match(err.hint ?? '', /constraints/);
      assert.ok(performance.now() - t0 < 30_000, 'it did not wait for the timeout');
      assert.deepEqual(await appServices(), [], 'the service it created is gone');
    },
  );

  it(
    'a command that exits at once: start fails naming the node and the exit, and leaves no service',
    budget(8_000),
    async () => {
      // The same release, its CMD overridden by `command` (the service's Args on the swarm).
      const crash = await dockerProject(
        {
          app: APP,
          services: {
            api: {
              build: { context: 'api' },
              port: 8080,
              instances: 2,
              health: { path: '/' },
              command: ['node', '-e', 'process.exit(3)'],
            },
          },
        },
        dir,
      );
      const err = await createSwarmRuntime(crash.ctx, { manager, builder, registry: REGISTRY })
        .start('green', release)
        .then(
          () => assert.fail('the start succeeded'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof SwitchyardError, String(err));
      assert.equal(err.code, 'START_FAILED');
      assert.match(
        err.message,
        new RegExp(`a task of ${APP}_api_green failed on sysw-n[123]: task: non-zero exit \\(3\\)`),
      );
      assert.deepEqual(await appServices(), [], 'the service it created is gone');
    },
  );

  it('a registry that refuses the push: PUSH_FAILED, and no release is left', budget(2_000), async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const refused = createSwarmRuntime(project.ctx, { manager, builder, registry: nobody });
    const err = await refused.prepare().then(
      () => assert.fail('the prepare succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SwitchyardError, String(err));
    assert.equal(err.code, 'PUSH_FAILED');
    assert.match(err.message, new RegExp(`the registry ${nobody} refused`));
    assert.deepEqual(await fs.readdir(project.ctx.paths.releases), [release], 'only the first release is there');
    const tags = (await builder.listImages())
      .flatMap((i) => i.RepoTags ?? [])
      .filter((t) => t.includes(`${APP}-api:`))
      .sort();
    assert.deepEqual(
      tags,
      [`${REGISTRY}/${APP}-api:${release}`, `${APP}-api:${release}`],
      'the failed one left no tag',
    );
  });
});
