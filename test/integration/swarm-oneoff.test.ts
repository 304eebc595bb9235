/**
 * The migrate hook's `service:` on the real three-node test swarm (scripts/swarm-infra.sh): the
 * swarm runtime's exec runs the command as a one-off Swarm task of the colour service's spec
 * (src/runtime/swarm/oneoff.ts). A project with one service `api` (1 instance) is prepared, pushed
 * and started as blue. Then a command that succeeds (its env has the hook's and the service's
 * variables, and it reaches the colour's task on the overlay), one that exits 3 (the exit code and
 * the tail of its output), one that outlives its 2 s timeout (stopped well before its 60 s, its
 * service gone), one aborted, and services that do not exist (a clear failed outcome). After each
 * test no one-off service is left on the swarm, and no one-off container runs on any node. Fails,
 * never skips, when the swarm is not up. Everything of the test's app is removed in `after`.
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import type Docker from 'dockerode';
import { createSwarmRuntime } from '../../src/runtime/swarm/index.js';
import { oneOffServiceSpec, removeOneOffs, runOneOff } from '../../src/runtime/swarm/oneoff.js';
import type { Runtime } from '../../src/runtime/types.js';
import { dockerClient, dockerProject, uniqueApp } from '../helpers/docker.js';
import { cleanupPushedApp, makeSwarmApp, managerClient, NODES, onNode, REGISTRY } from '../helpers/swarm.js';
import { budget } from '../helpers/budget.js';

const APP = uniqueApp('syoo');
const SERVICE = `${APP}_api_blue`;
let manager: Docker;
let dir: string;
let rt: Runtime;
let release: string;
let pinned: string;

/** The app's services on the swarm, by name. */
const appServices = async (role?: string): Promise<string[]> => {
  const label = [`switchyard.app=${APP}`, ...(role ? [`switchyard.role=${role}`] : [])];
  const l = (await manager.listServices({ filters: { label } })) as { Spec: { Name: string } }[];
  return l.map((s) => s.Spec.Name).sort();
};

/** One-off containers still running on any node. */
const oneOffContainers = (): string[] =>
  NODES.flatMap((n) =>
    onNode(n, ['ps', '-q', '--filter', `label=switchyard.app=${APP}`, '--filter', 'label=switchyard.role=oneoff'])
      .split('\n')
      .filter((id) => id.length > 0),
  );

const HOOK_ENV = () => ({ COLOUR: 'blue', SWITCHYARD_RELEASE: release, SWITCHYARD_BACKUP: '/backups/x.dump' });

before(async () => {
  manager = await managerClient();
  const builder = await dockerClient();
  dir = await makeSwarmApp('sy-swarm-oneoff-');
  const project = await dockerProject(
    {
      app: APP,
      services: {
        api: {
          build: { context: 'api' },
          port: 8080,
          instances: 1,
          health: { path: '/' },
          stopTimeout: '2s',
          env: { GREETING: 'hello', COLOUR: 'not-the-hook' },
        },
      },
    },
    dir,
  );
  rt = createSwarmRuntime(project.ctx, { manager, builder, registry: REGISTRY, edgeBase: 'switchyard/base:bookworm' });
  release = (await rt.prepare()).id;
  const run = await rt.start('blue', release);
  assert.deepEqual(Object.keys(run.services), ['api']);
  const spec = (await manager.getService(SERVICE).inspect()) as {
    Spec: { TaskTemplate: { ContainerSpec: { Image: string } } };
  };
  pinned = spec.Spec.TaskTemplate.ContainerSpec.Image;
}, budget(10_000));

afterEach(async () => {
  if (!manager) return;
  assert.deepEqual(await appServices('oneoff'), [], 'no one-off service is left on the swarm');
  assert.deepEqual(oneOffContainers(), [], 'no one-off container runs on any node');
  assert.deepEqual(await appServices(), [SERVICE], 'blue is still there, and nothing else');
});

after(async () => {
  if (!manager) return;
  await rt?.close?.();
  // Services, the network, node images by reference, local and registry-named tags, the pushed manifest.
  await cleanupPushedApp(APP, 'api', pinned);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}, budget(8_000));

describe('swarm runtime: exec as a one-off task of the colour service', () => {
  it(
    "succeeds: the hook's env over the service's, the same image, on the overlay with the colour's task",
    budget(3_000),
    async () => {
      const out = await runOneOff(manager, {
        app: APP,
        service: 'api',
        colour: 'blue',
        command: {
          // Its env, then an answer of blue's task, by its DNS name on the overlay.
          run:
            "env | sort; tr '\\0' ' ' </proc/1/cmdline; echo; " +
            `node -e "fetch('http://tasks.${SERVICE}:8080/').then((r) => r.text()).then(console.log)"`,
          shell: true,
          timeout: 60_000,
        },
        env: HOOK_ENV(),
      });
      assert.equal(out.ok, true, out.detail);
      assert.equal(out.detail, '');
      assert.equal(out.exitCode, 0);
      assert.match(out.output, /^COLOUR=blue$/m, "the hook's COLOUR wins over the service's");
      assert.match(out.output, new RegExp(`^SWITCHYARD_RELEASE=${release}$`, 'm'));
      assert.match(out.output, /^SWITCHYARD_BACKUP=\/backups\/x\.dump$/m);
      assert.match(out.output, /^GREETING=hello$/m, "the service's own env");
      assert.match(out.output, /^PORT=8080$/m);
      assert.match(out.output, /^\{"colour":"blue","instance":"1","version":"v1"\}$/m, "blue's task answered");
      assert.match(out.output, /^\/sbin\/docker-init -- \/bin\/sh -c env/m, 'an init is PID 1, as with docker exec');
      // Through the runtime, as the migrate hook calls it: exactly the outcome, nothing more.
      assert.deepEqual(await rt.exec('blue', 'api', { run: ['true'], shell: false, timeout: 60_000 }, {}), {
        ok: true,
        detail: '',
      });
    },
  );

  it('exits 3: not ok, the detail names the exit code and shows the last 15 lines', budget(2_000), async () => {
    const out = await rt.exec(
      'blue',
      'api',
      { run: 'for i in $(seq 1 30); do echo line $i; done; exit 3', shell: true, timeout: 60_000 },
      { env: HOOK_ENV() },
    );
    assert.equal(out.ok, false);
    const [head, ...tail] = out.detail.split('\n');
    assert.match(head ?? '', new RegExp(`in a one-off task of ${SERVICE} on sysw-n[123] exited with code 3$`));
    assert.match(head ?? '', /^\/bin\/sh -c for i in/);
    assert.deepEqual(
      tail,
      Array.from({ length: 15 }, (_, k) => `line ${k + 16}`),
    );
  });

  it('outlives its 2 s timeout: stopped well before its 60 s, and its service is gone', budget(6_000), async () => {
    const t0 = performance.now();
    const out = await rt.exec('blue', 'api', { run: ['sleep', '60'], shell: false, timeout: 2_000 }, {});
    const took = performance.now() - t0;
    assert.equal(out.ok, false);
    assert.match(
      out.detail,
      new RegExp(`^sleep 60 in a one-off task of ${SERVICE} on sysw-n[123] timed out after 2 s`),
    );
    assert.ok(took < 20_000, `took ${Math.round(took)} ms`);
    assert.deepEqual(await appServices(), [SERVICE], 'no service left but blue');
  });

  it('aborted by the signal: "aborted", its service gone', budget(6_000), async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1_500);
    const t0 = performance.now();
    const out = await rt.exec(
      'blue',
      'api',
      { run: ['sleep', '60'], shell: false, timeout: 60_000 },
      { signal: ac.signal },
    );
    assert.deepEqual(out, { ok: false, detail: 'aborted' });
    assert.ok(performance.now() - t0 < 20_000);
  });

  it('a service or colour with no colour service on the swarm: a clear failed outcome', budget(1_000), async () => {
    const cmd = { run: ['true'], shell: false, timeout: 60_000 };
    assert.deepEqual(await rt.exec('blue', 'worker', cmd, {}), {
      ok: false,
      detail: `blue has no service worker on the swarm (no service ${APP}_worker_blue): nothing to run it in`,
    });
    assert.deepEqual(await rt.exec('green', 'api', cmd, {}), {
      ok: false,
      detail: `green has no service api on the swarm (no service ${APP}_api_green): nothing to run it in`,
    });
  });

  it("a program the image does not have: exit code 127, with the init's words", budget(2_000), async () => {
    const out = await rt.exec('blue', 'api', { run: ['no-such-program'], shell: false, timeout: 60_000 }, {});
    assert.equal(out.ok, false);
    assert.match(
      out.detail,
      new RegExp(
        `^no-such-program in a one-off task of ${SERVICE} on sysw-n[123] exited with code 127 ` +
          '\\(no-such-program not found or not executable in the image\\)\n.*exec no-such-program failed',
      ),
    );
  });

  it(
    'a one-off left by a killed switchyard goes with its colour (removeOneOffs, run by stop)',
    budget(2_000),
    async () => {
      const info = (await manager.getService(SERVICE).inspect()) as {
        Spec: Parameters<typeof oneOffServiceSpec>[0]['colourSpec'];
      };
      const spec = oneOffServiceSpec({
        app: APP,
        service: 'api',
        colour: 'blue',
        colourSpec: info.Spec,
        argv: ['sleep', '60'],
        env: {},
        hex: 'left0ver',
      });
      await manager.createService(spec);
      assert.equal((await appServices('oneoff')).length, 1);
      await removeOneOffs(manager, APP, 'green');
      assert.equal((await appServices('oneoff')).length, 1, "green's removal leaves blue's one-off");
      await removeOneOffs(manager, APP, 'blue');
      assert.deepEqual(await appServices('oneoff'), []);
      // Its container goes a moment after its service (afterEach checks none runs).
      for (let i = 0; i < 40 && oneOffContainers().length > 0; i++) await new Promise((r) => setTimeout(r, 250));
    },
  );
});
