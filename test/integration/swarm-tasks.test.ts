/**
 * A colour's Swarm service made from colourServiceSpec and waited for by waitForTasks
 * (src/runtime/swarm/), on the real three-node test swarm (scripts/swarm-infra.sh): two replicas
 * of a pushed image, pinned, become two running tasks whose SWITCHYARD_INSTANCE is their slot (1
 * and 2); a task that exits at once, a constraint no node meets, and a health check that never
 * passes each end the wait with the engine's words (or a bounded timeout), never a hang. Fails,
 * never skips, when the swarm is not up.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { pushImage } from '../../src/runtime/docker/index.js';
import { colourServiceSpec, type ColourServiceInput } from '../../src/runtime/swarm/spec.js';
import { waitForTasks } from '../../src/runtime/swarm/tasks.js';
import { SwitchyardError } from '../../src/errors.js';
import { dockerClient, uniqueApp } from '../helpers/docker.js';
import { budget } from '../helpers/budget.js';
import { removeNodeImages } from '../helpers/swarm.js';

const SOCK = (n: number) => `/run/sysw/n${n}.sock`;
const REGISTRY = '10.77.0.1:5000';
const APP = uniqueApp('syst');
const LOCAL = `${APP}-api:r1`;
let local: Docker;
let manager: Docker;
let image: string;
let dir: string;
const made: string[] = [];

const on = (n: number, ...args: string[]) =>
  execFileSync('docker', ['-H', `unix://${SOCK(n)}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function spec(name: string, over: Partial<ColourServiceInput> = {}) {
  made.push(`${APP}_${name}_blue`);
  return colourServiceSpec({
    app: APP,
    service: name,
    colour: 'blue',
    release: 'r1',
    image,
    replicas: 2,
    network: `${APP}-net`,
    env: {},
    containerPort: 8000,
    stopTimeoutMs: 2_000,
    restart: 'always',
    constraints: [],
    ...over,
  });
}

before(async () => {
  local = await dockerClient();
  const Dockerode = (await import('dockerode')).default;
  manager = new Dockerode({ socketPath: SOCK(1) });
  await manager.ping().catch((e: unknown) => {
    assert.fail(`the test swarm's manager does not answer at ${SOCK(1)}: run scripts/swarm-infra.sh up (${e})`);
  });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-swarm-tasks-'));
  // Listens on 8000 and sleeps; `exit` as its first argument exits at once with code 3.
  await fs.writeFile(
    path.join(dir, 'Dockerfile'),
    'FROM switchyard/base:bookworm\n' +
      'ENTRYPOINT ["node", "-e", "if (process.argv[1] === \'exit\') process.exit(3);' +
      " require('http').createServer((q, s) => s.end('ok')).listen(8000)\"]\n",
  );
  execFileSync('docker', ['build', '-q', '-t', LOCAL, dir], { stdio: 'pipe' });
  image = (await pushImage(local, LOCAL, REGISTRY)).pinned;
  await manager.createNetwork({ Name: `${APP}-net`, Driver: 'overlay', Labels: { 'switchyard.app': APP } });
}, budget(30_000));

after(async () => {
  for (const s of made)
    await manager
      .getService(s)
      .remove()
      .catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const gone = await manager
      .getNetwork(`${APP}-net`)
      .remove()
      .then(
        () => true,
        (e: { statusCode?: number }) => e.statusCode === 404,
      );
    if (gone) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const ref of [LOCAL, `${REGISTRY}/${LOCAL}`])
    execFileSync('docker', ['image', 'rm', '-f', ref], { stdio: 'pipe' });
  await removeNodeImages(APP);
  await fs.rm(dir, { recursive: true, force: true });
}, budget(15_000));

test('two replicas: two running tasks, each with its slot as SWITCHYARD_INSTANCE', budget(30_000), async () => {
  await manager.createService(spec('api'));
  const running = await waitForTasks(manager, `${APP}_api_blue`, { replicas: 2, timeoutMs: 60_000 });
  assert.equal(running.length, 2);
  assert.deepEqual(running.map((t) => t.slot).sort(), [1, 2]);
  assert.ok(
    running.every((t) => /^sysw-n[123]$/.test(t.nodeName ?? '')),
    JSON.stringify(running),
  );
  // Each task's container, on whichever node it landed: its instance number is its slot.
  const seen: string[] = [];
  for (const n of [1, 2, 3]) {
    for (const id of on(n, 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${APP}_api_blue`).split('\n')) {
      if (id) seen.push(on(n, 'exec', id, 'printenv', 'SWITCHYARD_INSTANCE').trim());
    }
  }
  assert.deepEqual(seen.sort(), ['1', '2']);
});

test('a task that exits at once: START_FAILED naming the node and the exit', budget(10_000), async () => {
  const s = spec('crash');
  (s.TaskTemplate as { ContainerSpec: { Args?: string[] } }).ContainerSpec.Args = ['exit'];
  await manager.createService(s);
  const err = await waitForTasks(manager, `${APP}_crash_blue`, { replicas: 2, timeoutMs: 60_000 }).then(
    () => assert.fail('the wait succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SwitchyardError, String(err));
  assert.equal(err.code, 'START_FAILED');
  assert.match(err.message, /a task of .*_crash_blue failed on sysw-n[123]: task: non-zero exit \(3\)/);
});

test("a constraint no node meets: START_FAILED at once, with the scheduler's words", budget(10_000), async () => {
  await manager.createService(spec('nowhere', { constraints: ['node.labels.zone==nowhere'] }));
  const t0 = performance.now();
  const err = await waitForTasks(manager, `${APP}_nowhere_blue`, { replicas: 2, timeoutMs: 60_000 }).then(
    () => assert.fail('the wait succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SwitchyardError, String(err));
  assert.match(err.message, /cannot be placed: no suitable node/);
  assert.match(err.hint ?? '', /swarm\.constraints/);
  assert.ok(performance.now() - t0 < 30_000, 'it did not wait for the timeout');
});

test('a health check that never passes: TIMEOUT at the bound, naming the task states', budget(10_000), async () => {
  await manager.createService(
    spec('sick', { healthcheck: { test: ['CMD', 'false'], intervalMs: 500, timeoutMs: 500, retries: 100 } }),
  );
  const err = await waitForTasks(manager, `${APP}_sick_blue`, { replicas: 2, timeoutMs: 4_000 }).then(
    () => assert.fail('the wait succeeded'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SwitchyardError, String(err));
  assert.equal(err.code, 'TIMEOUT');
  assert.match(err.message, /_sick_blue: 0 of 2 task\(s\) running after 4 s \(.*(starting|preparing|assigned)/);
});
