/** The Swarm service spec of one colour of one service (src/runtime/swarm/spec.ts): pure data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  colourServiceSpec,
  swarmServiceName,
  tasksName,
  type ColourServiceInput,
} from '../../src/runtime/swarm/spec.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const input = (over: Partial<ColourServiceInput> = {}): ColourServiceInput => ({
  app: 'shop',
  service: 'api',
  colour: 'green',
  release: '20261207-050000-abc123',
  image: `10.77.0.1:5000/shop-api@${DIGEST}`,
  replicas: 2,
  network: 'shop-net',
  env: { DATABASE_URL: 'postgres://db/shop', PORT: '1' },
  containerPort: 5000,
  stopTimeoutMs: 10_000,
  restart: 'unless-stopped',
  constraints: ['node.role==worker'],
  ...over,
});

test('names: <app>_<service>_<colour>, and the tasks DNS name', () => {
  assert.equal(swarmServiceName('shop', 'api', 'blue'), 'shop_api_blue');
  assert.equal(tasksName('shop', 'api', 'blue'), 'tasks.shop_api_blue');
});

test('a colour service: pinned image, replicas, dnsrr, overlay alias, labels, constraints', () => {
  const s = colourServiceSpec(input());
  assert.equal(s.Name, 'shop_api_green');
  assert.deepEqual(s.Mode, { Replicated: { Replicas: 2 } });
  assert.deepEqual(s.EndpointSpec, { Mode: 'dnsrr' });
  const t = s.TaskTemplate as { ContainerSpec: Record<string, unknown>; [k: string]: unknown };
  assert.equal(t.ContainerSpec.Image, `10.77.0.1:5000/shop-api@${DIGEST}`);
  assert.deepEqual(t.Networks, [{ Target: 'shop-net', Aliases: ['api-green'] }]);
  assert.deepEqual(t.Placement, { Constraints: ['node.role==worker'] });
  const labels = {
    'switchyard.app': 'shop',
    'switchyard.service': 'api',
    'switchyard.colour': 'green',
    'switchyard.release': '20261207-050000-abc123',
    'switchyard.role': 'colour',
  };
  assert.deepEqual(s.Labels, labels);
  assert.deepEqual(t.ContainerSpec.Labels, labels);
  assert.equal(t.ContainerSpec.StopGracePeriod, 10_000_000_000);
  assert.equal(t.ContainerSpec.HealthCheck, undefined, "the image's own health check applies");
});

test("env: the config's, then what switchyard sets (PORT, colour, release, the slot as instance), sorted", () => {
  const t = colourServiceSpec(input()).TaskTemplate as { ContainerSpec: { Env: string[] } };
  assert.deepEqual(t.ContainerSpec.Env, [
    'DATABASE_URL=postgres://db/shop',
    'ENVIRONMENT_NAME=green',
    'HOST=0.0.0.0',
    'PORT=5000',
    'SWITCHYARD_COLOUR=green',
    'SWITCHYARD_INSTANCE={{.Task.Slot}}',
    'SWITCHYARD_RELEASE=20261207-050000-abc123',
  ]);
  const own = colourServiceSpec(input({ env: { HOST: '::' } })).TaskTemplate as { ContainerSpec: { Env: string[] } };
  assert.ok(own.ContainerSpec.Env.includes('HOST=::'), 'the config may set HOST');
});

test('restart policies map onto Swarm conditions; a health check is in nanoseconds', () => {
  const cond = (r: ColourServiceInput['restart']) =>
    (colourServiceSpec(input({ restart: r })).TaskTemplate as { RestartPolicy: { Condition: string } }).RestartPolicy
      .Condition;
  assert.deepEqual((['always', 'unless-stopped', 'on-failure', 'never', 'no'] as const).map(cond), [
    'any',
    'any',
    'on-failure',
    'none',
    'none',
  ]);
  const h = colourServiceSpec(
    input({ healthcheck: { test: ['CMD', 'node', '-e', '1'], intervalMs: 500, timeoutMs: 2_000, retries: 3 } }),
  ).TaskTemplate as { ContainerSpec: { HealthCheck: unknown } };
  assert.deepEqual(h.ContainerSpec.HealthCheck, {
    Test: ['CMD', 'node', '-e', '1'],
    Interval: 500_000_000,
    Timeout: 2_000_000_000,
    Retries: 3,
  });
});

test('refused: a tag instead of a digest, and fewer than one replica', () => {
  assert.throws(() => colourServiceSpec(input({ image: '10.77.0.1:5000/shop-api:latest' })), /pinned by digest/);
  assert.throws(() => colourServiceSpec(input({ replicas: 0 })), /replicas must be 1 or more/);
});
