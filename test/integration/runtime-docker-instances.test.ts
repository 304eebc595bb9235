/**
 * The docker runtime with several instances of a service (`services.<name>.instances`), against the
 * real engine: a service `echo` of 2 instances beside `solo` of 1, both from the local base image
 * pinned under the release tag (as runtime-docker.test.ts's `image:` test), running a tiny server
 * that answers with its SWITCHYARD_INSTANCE. Start: containers named `<app>-echo-blue` and
 * `<app>-echo-blue-2`, labelled, aliased, on distinct stable ports (keyed `echo`, `echo.2`); status,
 * endpoints, logs, tail and exec per instance; one instance killed while the other serves; stop
 * removes every instance, also one above a lowered `instances` count. Everything the app creates is
 * removed in `after`, whatever failed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import type Docker from 'dockerode';
import type { ConfigInput } from '../../src/config/schema.js';
import { LABEL } from '../../src/runtime/docker/names.js';
import type { Endpoint } from '../../src/runtime/types.js';
import {
  BASE_IMAGE,
  cleanupApp,
  dockerClient,
  dockerProject,
  uniqueApp,
  waitFor,
  type DockerProject,
} from '../helpers/docker.js';
import { budget } from '../helpers/budget.js';

const APP = uniqueApp('syi');
const UPSTREAM = `${APP}-upstream:v1`;
let docker: Docker;
const dirs: string[] = [];

/** Answers every request with its instance and colour as JSON; logs a line when it listens. */
const SERVER = [
  'node',
  '-e',
  'const e = process.env;' +
    "require('http').createServer((q, s) => {" +
    "console.log('request ' + q.url + ' on instance ' + e.SWITCHYARD_INSTANCE);" +
    "s.setHeader('content-type', 'application/json');" +
    's.end(JSON.stringify({ instance: e.SWITCHYARD_INSTANCE, colour: e.SWITCHYARD_COLOUR })); })' +
    ".listen(+e.PORT, '0.0.0.0', () => console.log('listening as instance ' + e.SWITCHYARD_INSTANCE));",
];

function services(echoInstances: number): ConfigInput['services'] {
  const svc = {
    image: UPSTREAM,
    port: 8080,
    health: { path: '/' },
    command: SERVER,
    // Deterministic for the kill below: no restart policy brings the killed instance back.
    restart: 'never' as const,
    // node as PID 1 ignores SIGTERM: the stop waits this long, then the engine kills it.
    stopTimeout: '1s',
  };
  return { echo: { ...svc, instances: echoInstances }, solo: svc };
}

/** The same project folder (release, remembered ports) read with another `instances` count. */
const withInstances = (dir: string, n: number) => dockerProject({ app: APP, services: services(n) }, dir);

const inspectName = (name: string) => docker.getContainer(name).inspect();

/** GET / of an endpoint: the JSON the instance answers with. */
async function answer(ep: Endpoint): Promise<{ instance?: string; colour?: string }> {
  return waitFor(
    `127.0.0.1:${ep.port} answers`,
    async () => {
      const r = await request(`http://${ep.host}:${ep.port}/`, { headersTimeout: 2_000, bodyTimeout: 2_000 });
      const text = await r.body.text();
      return r.statusCode === 200 ? (JSON.parse(text) as { instance?: string; colour?: string }) : undefined;
    },
    15_000,
  );
}

/** The app's containers of a colour (running or not), by name. */
const containersOf = async (colour: string) =>
  (
    await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.app}=${APP}`, `${LABEL.colour}=${colour}`] },
    })
  )
    .map((c) => c.Names[0]?.replace(/^\//, ''))
    .sort();

before(async () => {
  docker = await dockerClient();
}, budget(100));
after(async () => {
  if (docker) await cleanupApp(docker, APP);
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
}, budget(5_000));

describe('docker runtime: several instances per service', () => {
  let project: DockerProject;
  let release: string;

  before(async () => {
    await docker.getImage(BASE_IMAGE).tag({ repo: `${APP}-upstream`, tag: 'v1' });
    project = await dockerProject({ app: APP, services: services(2) });
    dirs.push(project.dir);
    release = (await project.rt.prepare()).id;
  }, budget(2_000));

  it(
    'start: one container per instance, named, labelled and aliased per instance, on distinct stable ports',
    budget(4_200),
    async () => {
      const planned = await project.rt.plannedEndpoints('blue');
      assert.deepEqual(
        Object.fromEntries(Object.entries(planned).map(([s, l]) => [s, l.length])),
        { echo: 2, solo: 1 },
        `planned endpoints: ${JSON.stringify(planned)}`,
      );
      const run = await project.rt.start('blue', release);
      assert.deepEqual(Object.keys(run.services).sort(), ['echo', 'echo.2', 'solo'], 'the run is keyed by instance');

      assert.deepEqual(await containersOf('blue'), [`${APP}-echo-blue`, `${APP}-echo-blue-2`, `${APP}-solo-blue`]);
      for (const [name, instance, alias] of [
        [`${APP}-echo-blue`, '1', 'echo-blue'],
        [`${APP}-echo-blue-2`, '2', 'echo-blue-2'],
        [`${APP}-solo-blue`, '1', 'solo-blue'],
      ] as const) {
        const c = await inspectName(name);
        assert.deepEqual(
          [c.Config.Labels[LABEL.service], c.Config.Labels[LABEL.colour], c.Config.Labels[LABEL.instance]],
          [name.includes('-echo-') ? 'echo' : 'solo', 'blue', instance],
          `labels of ${name}`,
        );
        assert.ok(c.Config.Env.includes(`SWITCHYARD_INSTANCE=${instance}`), `${name}: ${c.Config.Env.join(' ')}`);
        assert.ok((c.NetworkSettings.Networks[`${APP}-net`]?.Aliases ?? []).includes(alias), `alias of ${name}`);
      }

      const ep = await project.rt.endpoints('blue');
      assert.deepEqual(ep, planned, 'the planned ports are the ones used (stable ports per instance key)');
      assert.equal(ep.echo?.length, 2);
      assert.equal(ep.solo?.length, 1);
      const ports = [...ep.echo!, ...ep.solo!].map((e) => e.port);
      assert.equal(new Set(ports).size, 3, `distinct ports: ${ports.join(', ')}`);
      assert.deepEqual(
        [run.services.echo?.port, run.services['echo.2']?.port, run.services.solo?.port],
        ports,
        'the run records the same ports',
      );
      const remembered = JSON.parse(await fs.readFile(path.join(project.ctx.paths.run, 'ports.json'), 'utf8')) as {
        blue?: Record<string, number>;
      };
      assert.deepEqual(remembered.blue, { echo: ports[0], 'echo.2': ports[1], solo: ports[2] });

      // Each endpoint reaches its own instance, instance 1 first.
      assert.deepEqual(await answer(ep.echo![0]!), { instance: '1', colour: 'blue' });
      assert.deepEqual(await answer(ep.echo![1]!), { instance: '2', colour: 'blue' });
      assert.deepEqual(await answer(ep.solo![0]!), { instance: '1', colour: 'blue' });

      const status = await project.rt.status('blue');
      assert.deepEqual(
        status.map((s) => [s.service, s.running, s.port]),
        [
          ['echo', true, ports[0]],
          ['echo.2', true, ports[1]],
          ['solo', true, ports[2]],
        ],
        JSON.stringify(status),
      );
      assert.match(status[1]?.detail ?? '', new RegExp(`${APP}-echo-blue-2 running`));
    },
  );

  it('logs label each line with its instance key, tail and exec reach one instance', budget(1_100), async () => {
    const read = async (svcs: string[]) => {
      const out: string[] = [];
      await project.rt.logs!('blue', svcs, { follow: false }, (l) => out.push(l));
      return out.filter((l) => l.includes('listening')).sort();
    };
    assert.deepEqual(await read(['echo', 'solo']), [
      'echo | listening as instance 1',
      'echo.2 | listening as instance 2',
      'solo | listening as instance 1',
    ]);
    assert.deepEqual(await read(['echo']), ['echo | listening as instance 1', 'echo.2 | listening as instance 2']);
    assert.deepEqual(await read(['echo.2']), ['listening as instance 2'], 'one container: no label');

    assert.match(await project.rt.tail!('blue', 'echo.2', 20), /listening as instance 2/);
    assert.doesNotMatch(await project.rt.tail!('blue', 'echo.2', 20), /instance 1/);
    assert.match(await project.rt.tail!('blue', 'echo', 20), /listening as instance 1/);

    const check = (want: string) => ({
      run: ['node', '-e', `process.exit(process.env.SWITCHYARD_INSTANCE === '${want}' ? 0 : 7)`],
      shell: false,
      timeout: 20_000,
    });
    assert.deepEqual(await project.rt.exec('blue', 'echo', check('1')), { ok: true, detail: '' }, 'instance 1');
    assert.deepEqual(await project.rt.exec('blue', 'echo.2', check('2')), { ok: true, detail: '' }, 'an instance key');
  });

  it(
    'one instance killed: status shows it down while the other still serves; stop removes both',
    budget(1_800),
    async () => {
      const ep = await project.rt.endpoints('blue');
      execFileSync('docker', ['kill', `${APP}-echo-blue-2`], { stdio: 'ignore', timeout: 30_000 });
      const status = await waitFor(
        'echo.2 down',
        async () => {
          const s = await project.rt.status('blue');
          return s.find((x) => x.service === 'echo.2')?.running === false ? s : undefined;
        },
        15_000,
      );
      assert.deepEqual(
        status.map((s) => [s.service, s.running]),
        [
          ['echo', true],
          ['echo.2', false],
          ['solo', true],
        ],
      );
      assert.match(status[1]?.detail ?? '', new RegExp(`${APP}-echo-blue-2 is exited \\(exit code 137`));
      assert.deepEqual(await answer(ep.echo![0]!), { instance: '1', colour: 'blue' }, 'instance 1 still serves');

      await project.rt.stop('blue');
      assert.deepEqual(await containersOf('blue'), [], 'every instance removed');
      assert.deepEqual(await project.rt.endpoints('blue'), {});
      assert.equal(await project.rt.current('blue'), undefined);
      const after = await project.rt.status('blue');
      assert.deepEqual(
        after.map((s) => [s.service, s.running, s.detail]),
        [
          ['echo', false, 'no container (blue is not started)'],
          ['echo.2', false, 'no container (blue is not started)'],
          ['solo', false, 'no container (blue is not started)'],
        ],
      );
    },
  );

  it(
    'instances lowered while a colour runs: the extra instance shows in status until stop removes it; ' +
      'instance 1 keeps its remembered port',
    budget(10_400),
    async () => {
      const three = await withInstances(project.dir, 3);
      const run = await three.rt.start('green', release);
      assert.deepEqual(Object.keys(run.services).sort(), ['echo', 'echo.2', 'echo.3', 'solo']);
      assert.deepEqual(
        (await three.rt.endpoints('green')).echo?.map((e) => e.port),
        [run.services.echo?.port, run.services['echo.2']?.port, run.services['echo.3']?.port],
      );

      const two = await withInstances(project.dir, 2);
      const status = await two.rt.status('green');
      assert.deepEqual(
        status.map((s) => [s.service, s.running]),
        [
          ['echo', true],
          ['echo.2', true],
          ['solo', true],
          ['echo.3', true],
        ],
        'the instance above the count is shown after the configured ones',
      );
      assert.match(status[3]?.detail ?? '', new RegExp(`${APP}-echo-green-3 running`));
      await two.rt.stop('green');
      assert.deepEqual(await containersOf('green'), [], 'stop removed instance 3 too');

      // Back to one instance: instance 1 starts on the port it had (keyed `echo`, as before instances).
      const one = await withInstances(project.dir, 1);
      const again = await one.rt.start('green', release);
      try {
        assert.deepEqual(Object.keys(again.services).sort(), ['echo', 'solo']);
        assert.equal(again.services.echo?.port, run.services.echo?.port);
        assert.deepEqual(await containersOf('green'), [`${APP}-echo-green`, `${APP}-solo-green`]);
        const status1 = await one.rt.status('green');
        assert.deepEqual(
          status1.map((s) => s.service),
          ['echo', 'solo'],
        );
      } finally {
        await one.rt.stop('green');
      }
      assert.deepEqual(await containersOf('green'), []);
    },
  );

  it(
    'an instance that exits on start fails the start naming that instance, and leaves nothing behind',
    budget(3_000),
    async () => {
      const crash = await dockerProject(
        {
          app: APP,
          services: {
            echo: {
              ...services(2).echo!,
              command: [
                'node',
                '-e',
                "if (process.env.SWITCHYARD_INSTANCE === '2') {" +
                  " console.error('boom in instance 2'); process.exit(4) } setInterval(() => {}, 1000)",
              ],
            },
          },
        },
        project.dir,
      );
      const err = await crash.rt.start('green', release).then(
        () => assert.fail('expected START_FAILED'),
        (e: unknown) => e as { code?: string; message?: string },
      );
      assert.equal(err.code, 'START_FAILED');
      assert.match(err.message ?? '', /echo \(instance 2\) \(green\) exited with code 4 right after starting/);
      assert.match(err.message ?? '', /boom in instance 2/);
      assert.doesNotMatch(err.message ?? '', /^echo \(green\)/m, 'instance 1 did not fail');
      assert.deepEqual(await containersOf('green'), [], 'nothing of green left');
    },
  );

  it('a missing instance of a running colour is "not started" by itself', budget(4_600), async () => {
    // Started with 1 instance; read with 2: echo.2 has no container while the rest runs.
    const one = await withInstances(project.dir, 1);
    await one.rt.start('blue', release);
    try {
      const two = await withInstances(project.dir, 2);
      const status = await two.rt.status('blue');
      assert.deepEqual(
        status.map((s) => [s.service, s.running, s.running ? '' : s.detail]),
        [
          ['echo', true, ''],
          ['echo.2', false, 'no container (echo (instance 2) of blue is not started)'],
          ['solo', true, ''],
        ],
      );
    } finally {
      await one.rt.stop('blue');
    }
  });
});
