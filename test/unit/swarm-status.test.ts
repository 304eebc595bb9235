/**
 * How the swarm runtime reads a colour from its tasks (src/runtime/swarm/status.ts), on task lists
 * as the manager gives them (no swarm needed): per slot the task meant to run counts, else the
 * newest (a failure Swarm will not restart is final); a replacement not running yet names how the
 * one before it ended; rows for every expected instance key, then for tasks the config no longer
 * has; the run keyed by instance, pid and port 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceTasks } from '../../src/runtime/swarm/find.js';
import { runOf, statusRows } from '../../src/runtime/swarm/status.js';
import type { TaskView } from '../../src/runtime/swarm/tasks.js';

let n = 0;
const task = (slot: number, state: string, desired: string, over: Partial<TaskView> = {}): TaskView => ({
  id: `t${++n}`,
  slot,
  node: `node${slot}`,
  nodeName: `sysw-n${slot}`,
  state,
  desired,
  createdAt: 1_000 * n,
  ...over,
});
const svc = (service: string, tasks: TaskView[]): ServiceTasks => ({
  id: `id-${service}`,
  name: `shop_${service}_blue`,
  service,
  colour: 'blue',
  release: 'r1',
  tasks,
});

test('running tasks: one row per instance key, the node named; the run keyed by instance', () => {
  const found = [svc('api', [task(2, 'running', 'running'), task(1, 'running', 'running')])];
  assert.deepEqual(statusRows('blue', ['api', 'api.2'], found), [
    { service: 'api', running: true, detail: 'running on sysw-n1' },
    { service: 'api.2', running: true, detail: 'running on sysw-n2' },
  ]);
  const run = runOf('blue', found);
  assert.equal(run?.release, 'r1');
  assert.deepEqual(Object.keys(run?.services ?? {}).sort(), ['api', 'api.2']);
  assert.deepEqual([run?.services.api?.pid, run?.services.api?.port], [0, 0]);
});

test('a failed task Swarm will not restart is final; a replacement names the one before it', () => {
  const found = [
    svc('api', [
      task(1, 'failed', 'shutdown', { nodeName: 'sysw-n3', err: 'task: non-zero exit (3)' }),
      task(2, 'failed', 'shutdown', { err: 'task: non-zero exit (3)' }),
      task(2, 'starting', 'running'),
    ]),
  ];
  assert.deepEqual(statusRows('blue', ['api', 'api.2'], found), [
    { service: 'api', running: false, failed: true, detail: 'failed on sysw-n3: task: non-zero exit (3)' },
    {
      service: 'api.2',
      running: false,
      detail: 'starting on sysw-n2; before: failed on sysw-n2: task: non-zero exit (3)',
    },
  ]);
  assert.deepEqual(Object.keys(runOf('blue', found)?.services ?? {}), ['api.2'], 'only tasks meant to run');
});

test('a task no node can take; a missing instance; a service the config no longer has', () => {
  const found = [
    svc('api', [task(1, 'pending', 'running', { node: '', nodeName: undefined, err: 'no suitable node (x)' })]),
    svc('old', [task(1, 'running', 'running')]),
  ];
  assert.deepEqual(statusRows('blue', ['api', 'api.2'], found), [
    { service: 'api', running: false, detail: 'pending: no suitable node (x)' },
    { service: 'api.2', running: false, detail: 'no task (api (instance 2) of blue is not started)' },
    { service: 'old', running: true, detail: 'running on sysw-n1' },
  ]);
});

test('no services: every key not started, and no run', () => {
  assert.deepEqual(statusRows('green', ['api'], []), [
    { service: 'api', running: false, detail: 'no task (green is not started)' },
  ]);
  assert.equal(runOf('green', []), undefined);
});
