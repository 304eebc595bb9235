/**
 * Which nodes count as edge nodes (src/runtime/swarm/edge-service.ts, replicasOf): a node whose
 * engine stopped is `down` and the manager no longer lists a task meant to run there, yet it must
 * still count (or a switch would leave it behind unnoticed); a drained node does not; a replica is
 * reachable (has an address) only when its task runs on a ready node.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { replicasOf, type RawNode } from '../../src/runtime/swarm/edge-service.js';
import type { TaskView } from '../../src/runtime/swarm/tasks.js';

const node = (id: string, state = 'ready', availability = 'active'): RawNode => ({
  ID: id,
  Description: { Hostname: `host-${id}` },
  Spec: { Availability: availability },
  Status: { State: state },
});

const task = (nodeId: string, o: Partial<TaskView> = {}): TaskView => ({
  id: `t-${nodeId}-${o.createdAt ?? 1}`,
  node: nodeId,
  state: 'running',
  desired: 'running',
  createdAt: 1,
  addresses: { 'app-net': `10.0.0.${nodeId.length}` },
  ...o,
});

describe('edge replicas', () => {
  it('a running task on a ready node has its overlay address', () => {
    const r = replicasOf([task('n1')], [node('n1')], 'app-net');
    assert.deepEqual(
      r.map((x) => [x.node, x.address, x.down]),
      [['host-n1', '10.0.0.2', undefined]],
    );
  });

  it('a node that is down still counts, without an address, saying why', () => {
    const nodes = [node('n1'), { ...node('n3', 'down'), Status: { State: 'down', Message: 'heartbeat failure' } }];
    const tasks = [task('n1'), task('n3', { desired: 'shutdown', state: 'running' })];
    const r = replicasOf(tasks, nodes, 'app-net');
    assert.deepEqual(
      r.map((x) => [x.node, x.address ?? null, x.down ?? null]),
      [
        ['host-n1', '10.0.0.2', null],
        ['host-n3', null, 'the node is down (heartbeat failure)'],
      ],
    );
  });

  it('a drained node whose task was shut down does not count; a removed node neither', () => {
    const tasks = [task('n1'), task('n2', { desired: 'shutdown', state: 'shutdown' }), task('gone')];
    const r = replicasOf(tasks, [node('n1'), node('n2', 'ready', 'drain')], 'app-net');
    assert.deepEqual(
      r.map((x) => x.node),
      ['host-n1'],
    );
  });

  it('the task meant to run wins over an older one on the same node; one not running yet has no address', () => {
    const tasks = [
      task('n1', { createdAt: 1, desired: 'shutdown', state: 'failed' }),
      task('n1', { createdAt: 2, state: 'starting' }),
    ];
    const r = replicasOf(tasks, [node('n1')], 'app-net');
    assert.equal(r.length, 1);
    assert.equal(r[0]!.task.createdAt, 2);
    assert.equal(r[0]!.address, undefined);
  });
});
