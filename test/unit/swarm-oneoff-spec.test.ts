/**
 * The one-off service of the migrate hook on a swarm (src/runtime/swarm/oneoff.ts), as data: made
 * from the colour service's spec as the manager returns it. Its name, the same pinned image,
 * network (no alias) and constraints, the argv as Command (the entrypoint replaced, no Args), the
 * hook's env over the service's, never restarted, no health check, no published port, its labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_SERVICE_NAME,
  oneOffName,
  oneOffServiceSpec,
  type ColourSpecView,
  type OneOffSpecInput,
} from '../../src/runtime/swarm/oneoff.ts';

const IMAGE = `10.77.0.1:5000/shop-api@sha256:${'ab'.repeat(32)}`;

/** What `docker service inspect shop_api_green` gives of a colour service (spec.ts made it). */
const colour = (): ColourSpecView => ({
  Name: 'shop_api_green',
  Labels: {
    'switchyard.app': 'shop',
    'switchyard.service': 'api',
    'switchyard.colour': 'green',
    'switchyard.release': '20261207-050000-abc123',
    'switchyard.role': 'colour',
  },
  TaskTemplate: {
    ContainerSpec: {
      Image: IMAGE,
      Env: [
        'DATABASE_URL=postgres://db/shop?a=b',
        'HOST=0.0.0.0',
        'PORT=5000',
        'SWITCHYARD_COLOUR=green',
        'SWITCHYARD_INSTANCE={{.Task.Slot}}',
      ],
      Dir: '/srv',
    },
    Placement: { Constraints: ['node.role==worker', 'node.labels.zone==a'] },
    Networks: [{ Target: 'x1y2z3networkid' }],
  },
});

const input = (over: Partial<OneOffSpecInput> = {}): OneOffSpecInput => ({
  app: 'shop',
  service: 'api',
  colour: 'green',
  colourSpec: colour(),
  argv: ['npm', 'run', 'migrate'],
  env: { COLOUR: 'green', SWITCHYARD_RELEASE: '20261207-050000-abc123', PORT: '6000' },
  hex: '0a1b2c3d',
  ...over,
});

interface Task {
  ContainerSpec: Record<string, unknown>;
  RestartPolicy: unknown;
  Placement: unknown;
  Networks: unknown;
}

test('the name: <app>_<service>_<colour>_run<hex>, cut to what Swarm takes, the random part whole', () => {
  assert.equal(oneOffName('shop', 'api', 'green', '0a1b2c3d'), 'shop_api_green_run0a1b2c3d');
  // 40 + 40 characters of names: the colour service's name is cut, `_run<hex>` stays whole.
  const cut = oneOffName('a'.repeat(40), 'b'.repeat(40), 'blue', 'ffffffff');
  assert.equal(cut, `${'a'.repeat(40)}_${'b'.repeat(10)}_runffffffff`);
  assert.equal(cut.length, MAX_SERVICE_NAME);
  // A cut that ends on a separator drops it: no `__run`, no `-_run`.
  assert.equal(oneOffName('a'.repeat(50), 'api', 'blue', '01234567'), `${'a'.repeat(50)}_run01234567`);
  assert.equal(oneOffName('a'.repeat(38), 'b-c---------', 'blue', '01234567'), `${'a'.repeat(38)}_b-c_run01234567`);
});

test('the one-off: the pinned image, argv as Command, env merged, never restarted, no health check', () => {
  const s = oneOffServiceSpec(input());
  assert.equal(s.Name, 'shop_api_green_run0a1b2c3d');
  assert.deepEqual(s.Mode, { Replicated: { Replicas: 1 } });
  assert.deepEqual(s.EndpointSpec, { Mode: 'dnsrr' }, 'no published port, no VIP');
  const t = s.TaskTemplate as Task;
  assert.equal(t.ContainerSpec.Image, IMAGE);
  assert.deepEqual(t.ContainerSpec.Command, ['npm', 'run', 'migrate'], 'the entrypoint replaced, as docker exec runs');
  assert.equal(t.ContainerSpec.Args, undefined, "the colour's CMD is not appended");
  assert.deepEqual(t.ContainerSpec.Env, [
    'COLOUR=green',
    'DATABASE_URL=postgres://db/shop?a=b',
    'HOST=0.0.0.0',
    'PORT=6000',
    'SWITCHYARD_COLOUR=green',
    'SWITCHYARD_INSTANCE={{.Task.Slot}}',
    'SWITCHYARD_RELEASE=20261207-050000-abc123',
  ]);
  assert.equal(t.ContainerSpec.Dir, '/srv');
  assert.deepEqual(t.ContainerSpec.HealthCheck, { Test: ['NONE'] });
  assert.equal(t.ContainerSpec.Init, true);
  assert.deepEqual(t.RestartPolicy, { Condition: 'none', MaxAttempts: 0 });
  assert.deepEqual(t.Placement, { Constraints: ['node.role==worker', 'node.labels.zone==a'] });
  assert.deepEqual(t.Networks, [{ Target: 'x1y2z3networkid' }], "the colour's network, without its alias");
});

test("labels: the colour service's, with role oneoff (so it is never taken for a colour)", () => {
  const s = oneOffServiceSpec(input());
  const labels = {
    'switchyard.app': 'shop',
    'switchyard.service': 'api',
    'switchyard.colour': 'green',
    'switchyard.release': '20261207-050000-abc123',
    'switchyard.role': 'oneoff',
  };
  assert.deepEqual(s.Labels, labels);
  assert.deepEqual((s.TaskTemplate as Task).ContainerSpec.Labels, labels);
});

test('a shell command is argv too; the spec is the same for the same input', () => {
  const argv = ['/bin/sh', '-c', 'npm run migrate && echo done'];
  const s = oneOffServiceSpec(input({ argv }));
  assert.deepEqual((s.TaskTemplate as Task).ContainerSpec.Command, argv);
  assert.deepEqual(oneOffServiceSpec(input({ argv })), s);
});

test("without the colour's network in its spec: the project's overlay", () => {
  const spec = colour();
  delete spec.TaskTemplate?.Networks;
  const s = oneOffServiceSpec(input({ colourSpec: spec }));
  assert.deepEqual((s.TaskTemplate as Task).Networks, [{ Target: 'shop-net' }]);
});

test('refused: an image not pinned by digest, an empty command', () => {
  const tagged = colour();
  tagged.TaskTemplate!.ContainerSpec!.Image = '10.77.0.1:5000/shop-api:latest';
  assert.throws(() => oneOffServiceSpec(input({ colourSpec: tagged })), /not an image pinned by digest/);
  assert.throws(() => oneOffServiceSpec(input({ argv: [] })), /the command is empty/);
});
