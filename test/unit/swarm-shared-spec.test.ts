/**
 * A shared service on a swarm (src/runtime/swarm/shared.ts, sharedServiceSpec): one replica pinned
 * to its node with its named volumes (`<app>-<volume>`, as the Docker runtime names them), reached
 * by its name on the overlay, its environment, health check and stop grace as configured.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sharedSchema } from '../../src/config/schema.js';
import { sharedServiceSpec } from '../../src/runtime/swarm/shared.js';

describe('shared service spec (swarm)', () => {
  it('is one replica pinned to its node, with its volume and its alias on the overlay', () => {
    const s = sharedSchema.parse({
      build: '.',
      node: 'sysw-n2',
      volumes: ['pgdata:/var/lib/postgresql/data'],
      healthcheck: { test: ['CMD', 'pg_isready'], interval: '2s' },
      stopTimeout: '20s',
      restart: 'never',
    });
    const spec = sharedServiceSpec('shop', 'db', s, {
      image: `r:5000/shop-db@sha256:${'b'.repeat(64)}`,
      network: 'shop-net',
      env: { POSTGRES_USER: 'u' },
      projectDir: '/p',
    });
    assert.equal(spec.Name, 'shop_db');
    assert.deepEqual(spec.Mode, { Replicated: { Replicas: 1 } });
    const t = spec.TaskTemplate as {
      ContainerSpec: {
        Mounts: unknown[];
        Env: string[];
        StopGracePeriod: number;
        HealthCheck: { Test: string[]; Interval: number };
      };
      Placement: { Constraints: string[] };
      Networks: unknown[];
      RestartPolicy: { Condition: string };
    };
    assert.deepEqual(t.Placement.Constraints, ['node.hostname==sysw-n2']);
    assert.deepEqual(t.Networks, [{ Target: 'shop-net', Aliases: ['db'] }]);
    assert.deepEqual(t.ContainerSpec.Mounts, [
      { Type: 'volume', Source: 'shop-pgdata', Target: '/var/lib/postgresql/data', ReadOnly: false },
    ]);
    assert.deepEqual(t.ContainerSpec.Env, ['POSTGRES_USER=u']);
    assert.equal(t.ContainerSpec.StopGracePeriod, 20e9);
    assert.deepEqual(t.ContainerSpec.HealthCheck.Test, ['CMD', 'pg_isready']);
    assert.equal(t.ContainerSpec.HealthCheck.Interval, 2e9);
    assert.equal(t.RestartPolicy.Condition, 'none');
    assert.deepEqual(spec.EndpointSpec, { Mode: 'dnsrr' });
  });
});
