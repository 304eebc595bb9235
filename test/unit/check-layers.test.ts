/**
 * The layer checker that `npm test` runs first (scripts/check-layers.mjs), on small made-up graphs
 * and on src/ itself.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error: a plain .mjs script without type declarations
import { cycles, graph, pastFaces, upward } from '../../scripts/check-layers.mjs';

type Edges = Map<string, string[]>;
const g = (o: Record<string, string[]>): Edges => new Map(Object.entries(o));

test('finds every circle, including a file importing itself, and nothing in a tree', () => {
  assert.deepEqual(cycles(g({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': [] })), []);
  assert.deepEqual(cycles(g({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['d.ts'] })), [
    ['a.ts', 'b.ts', 'c.ts'],
    ['d.ts'],
  ]);
});

test('an import from a lower layer to a higher one is named; downward and sideways imports are fine', () => {
  const edges = g({
    'state/lock.ts': ['runtime/process/procinfo.ts', 'util/pid.ts'],
    'runtime/process/procinfo.ts': ['util/pid.ts'],
    'util/pid.ts': [],
    'run/deploy.ts': ['plan/plan.ts', 'proxy/client.ts'],
    'plan/plan.ts': [],
    'proxy/client.ts': ['checks/http.ts'],
    'checks/http.ts': [],
  });
  assert.deepEqual(upward(edges), ['src/state/lock.ts (state) imports src/runtime/process/procinfo.ts (adapters)']);
});

test('an inner file of the Docker runtime imported from outside it is named', () => {
  const edges = g({
    'backup/pg.ts': ['runtime/docker/client.ts', 'runtime/docker/index.ts'],
    'runtime/docker/index.ts': ['runtime/docker/client.ts'],
    'runtime/docker/client.ts': [],
  });
  assert.deepEqual(pastFaces(edges), [
    'src/backup/pg.ts imports src/runtime/docker/client.ts (use src/runtime/docker/index.ts)',
  ]);
});

test('src/ has no circle, no upward import and no inner Docker file imported from outside', () => {
  const edges: Edges = graph();
  assert.ok(edges.size > 100, `read ${edges.size} files`);
  assert.deepEqual(cycles(edges), []);
  assert.deepEqual(upward(edges), []);
  assert.deepEqual(pastFaces(edges), []);
});
