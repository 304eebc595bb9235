/**
 * The executor and the plans through the real command wrappers (init, deploy, rollback, switch,
 * down), with the in-memory runtime and proxy: no child process, no daemon. What runs must be what
 * the plan said (the same numbered steps, titles and skips), in the order the plan implies, and
 * state.json, history and the journal must say what happened.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { SwitchyardError } from '../../src/errors.ts';
import { type Plan, plannedSteps } from '../../src/plan/actions.ts';
import { createEngine, type Engine } from '../../src/run/context.ts';
import { deploy, deployPlan } from '../../src/run/deploy.ts';
import { down, downPlan } from '../../src/run/down.ts';
import { init, initPlan } from '../../src/run/init.ts';
import type { Reporter } from '../../src/run/reporter.ts';
import { rollback, rollbackPlan } from '../../src/run/rollback.ts';
import { switchPlan, switchTraffic } from '../../src/run/switch.ts';
import { readHistory } from '../../src/state/history.ts';
import type { JournalData } from '../../src/state/journal.ts';
import { readState, type State } from '../../src/state/state.ts';
import { type MemoryProxy, memoryProxy } from '../helpers/memory-proxy.ts';
import { type MemoryRuntime, memoryRuntime } from '../helpers/memory-runtime.ts';
import { freePort } from '../helpers/project.ts';

const config = (port: number) => `app: unit
runtime: process
proxy:
  kind: builtin
  listen: { http: ${port}, host: 127.0.0.1 }
  routes:
    - { path: /api, service: api }
    - { path: /, service: web }
services:
  api: { cwd: ., command: node server.mjs, health: { path: /api/health } }
  web: { cwd: ., command: node server.mjs, health: { path: / } }
checks:
  interval: 10ms
  timeout: 400ms
  requestTimeout: 250ms
  healthyAfter: 1
  smoke:
    - { name: page, request: { path: / }, expect: { status: 200, json: { service: web } } }
deploy:
  drainTimeout: 100ms
  verifyTimeout: 2s
`;

/** A step as the run reported it: `ok`, `fail`, or `skip: <reason>`. */
interface StepLine {
  index: number;
  total: number;
  title: string;
  outcome: string;
}

function recordingReporter(): { reporter: Reporter; steps: StepLine[] } {
  const steps: StepLine[] = [];
  const reporter: Reporter = {
    step(index, total, title) {
      const line: StepLine = { index, total, title, outcome: 'running' };
      steps.push(line);
      return {
        update() {},
        ok: () => void (line.outcome = 'ok'),
        fail: () => void (line.outcome = 'fail'),
        skip: (why) => void (line.outcome = `skip: ${why ?? ''}`),
      };
    },
    info() {},
    warn() {},
    event() {},
  };
  return { reporter, steps };
}

/** The step lines a run of `plan` must report; `no`: questions answered no whose step is then skipped. */
function expectedSteps(plan: Plan, no: string[] = []): StepLine[] {
  return plannedSteps(plan).map((s, i) => {
    const ask = plan.actions[i]!.ask;
    const declined = ask && no.includes(ask.question) && 'skip' in ask.no ? ask.no.skip : undefined;
    const skip = s.skip ?? declined;
    return { index: s.index, total: s.total, title: s.title, outcome: skip === undefined ? 'ok' : `skip: ${skip}` };
  });
}

interface Project {
  e: Engine;
  runtime: MemoryRuntime;
  proxy: MemoryProxy;
  /** Step lines reported so far (take() empties it). */
  steps: StepLine[];
  /** Questions asked so far, in order. */
  asked: string[];
  /** How the asker answers; yes to everything unless a test changes it. */
  answer: (question: string) => boolean;
  state(): Promise<State | undefined>;
}

async function project(t: TestContext): Promise<Project> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-unit-exec-'));
  await fs.writeFile(path.join(dir, 'switchyard.yml'), config(await freePort()));
  const loaded = await loadConfig({ cwd: dir, env: {} });
  const runtime = memoryRuntime(Object.keys(loaded.config.services));
  const proxy = memoryProxy(loaded.config);
  const { reporter, steps } = recordingReporter();
  const asked: string[] = [];
  const p: Project = {
    e: createEngine(loaded, {
      runtime,
      proxy,
      reporter,
      asker: {
        interactive: true,
        confirm: async (q) => (asked.push(q), p.answer(q)),
      },
    }),
    runtime,
    proxy,
    steps,
    asked,
    answer: () => true,
    state: () => readState(p.e.paths),
  };
  t.after(async () => {
    await proxy.stop();
    await runtime.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return p;
}

/** Empties a log and returns what it held (the calls since the last take). */
const take = <T>(log: T[]): T[] => log.splice(0);

const colours = (s: State | undefined) =>
  s && {
    active: s.active,
    blue: [s.colours.blue.release, s.colours.blue.status],
    green: [s.colours.green.release, s.colours.green.status],
  };

const hasCode = (code: string) => (err: unknown) => {
  assert.ok(err instanceof SwitchyardError, `expected a SwitchyardError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return true;
};

async function running(rt: MemoryRuntime, c: 'blue' | 'green'): Promise<boolean> {
  return (await rt.status(c)).every((s) => s.running);
}

test('init, deploy, rollback, switch, down: each run reports its plan, in the order the plan implies', async (t) => {
  const p = await project(t);
  const { e, runtime, proxy } = p;
  // The rollback leaves green running, so that the switch has a colour to move to.
  p.answer = (q) => q !== 'Stop green environment?';

  let plan = await initPlan(e);
  await init(e);
  assert.deepEqual(take(p.steps), expectedSteps(plan));
  assert.deepEqual(take(runtime.calls), ['prepare r1', 'start blue r1']);
  assert.deepEqual(take(proxy.calls), [
    'start',
    'setBackends blue', // the planned endpoints of both colours, as the proxy opens
    'setBackends green',
    'setBackends blue', // blue started
    'switchTo blue',
  ]);
  assert.deepEqual(colours(await p.state()), { active: 'blue', blue: ['r1', 'live'], green: [null, 'stopped'] });

  plan = await deployPlan(e);
  await deploy(e);
  assert.deepEqual(take(p.steps), expectedSteps(plan));
  assert.deepEqual(take(p.asked), ['All checks passed. Switch traffic to green?']);
  assert.deepEqual(take(runtime.calls), ['prepare r2', 'start green r2', 'stop blue', 'prune 3']);
  assert.deepEqual(take(proxy.calls), ['setBackends green', 'switchTo green', 'drain blue']);
  assert.deepEqual(colours(await p.state()), { active: 'green', blue: ['r1', 'stopped'], green: ['r2', 'live'] });

  plan = await rollbackPlan(e);
  await rollback(e);
  assert.deepEqual(take(p.steps), expectedSteps(plan, ['Stop green environment?']));
  assert.deepEqual(take(p.asked), ['Continue with rollback?', 'Stop green environment?']);
  assert.deepEqual(take(runtime.calls), ['start blue r1']);
  assert.deepEqual(take(proxy.calls), ['setBackends blue', 'switchTo blue']);
  assert.deepEqual(colours(await p.state()), { active: 'blue', blue: ['r1', 'live'], green: ['r2', 'standby'] });

  plan = await switchPlan(e, 'green');
  await switchTraffic(e, 'green');
  assert.deepEqual(take(p.steps), expectedSteps(plan));
  assert.deepEqual(take(runtime.calls), []);
  assert.deepEqual(take(proxy.calls), ['setBackends green', 'switchTo green']);
  assert.deepEqual(colours(await p.state()), { active: 'green', blue: ['r1', 'standby'], green: ['r2', 'live'] });

  plan = await downPlan(e);
  await down(e);
  assert.deepEqual(take(p.steps), expectedSteps(plan));
  assert.deepEqual(take(runtime.calls), ['stop blue', 'stop green']);
  assert.deepEqual(take(proxy.calls), ['stop']);
  assert.deepEqual(colours(await p.state()), { active: null, blue: ['r1', 'stopped'], green: ['r2', 'stopped'] });
  assert.equal(await proxy.alive(), undefined);

  const history = await readHistory(e.paths);
  assert.deepEqual(
    history.map((h) => [h.type, h.result, h.from, h.to]),
    [
      ['init', 'success', null, 'blue'],
      ['deploy', 'success', 'blue', 'green'],
      ['rollback', 'success', 'green', 'blue'],
      ['switch', 'success', 'blue', 'green'],
      ['down', 'success', 'green', null],
    ],
  );
});

test('a target that fails its health checks: deploy fails, green is stopped, blue still serves', async (t) => {
  const p = await project(t);
  const { e, runtime, proxy } = p;
  await init(e);
  const before = await p.state();
  take(runtime.calls);
  take(proxy.calls);
  take(p.steps);
  runtime.unhealthy.add('green');

  await assert.rejects(deploy(e, { autoSwitch: true }), hasCode('HEALTH_FAILED'));
  assert.deepEqual(take(runtime.calls), ['prepare r2', 'start green r2', 'stop green']); // the undo
  assert.deepEqual(take(proxy.calls), ['setBackends green']);
  assert.equal(proxy.routing().active, 'blue');
  assert.equal(await runtime.current('green'), undefined);
  assert.ok(await running(runtime, 'blue'));
  assert.deepEqual(await p.state(), before);
  assert.deepEqual(p.steps.map((s) => [s.title, s.outcome]).slice(-2), [
    ['Building and starting green environment', 'ok'],
    ['Running health checks on green', 'fail'],
  ]);
  const last = (await readHistory(e.paths)).at(-1)!;
  assert.deepEqual(
    [last.type, last.result, last.from, last.to, last.release],
    ['deploy', 'failed', 'blue', 'green', 'r2'],
  );
  assert.match(last.reason ?? '', /green did not become healthy/);
  await assert.rejects(fs.access(e.paths.journal), { code: 'ENOENT' });
});

test('a start that throws: deploy fails before any switch, blue still serves', async (t) => {
  const p = await project(t);
  const { e, runtime, proxy } = p;
  await init(e);
  take(runtime.calls);
  take(proxy.calls);
  runtime.failStart.add('green');

  await assert.rejects(deploy(e, { autoSwitch: true }), hasCode('STEP_FAILED'));
  assert.deepEqual(take(runtime.calls), ['prepare r2', 'start green r2', 'stop green']);
  assert.deepEqual(take(proxy.calls), []);
  assert.equal(proxy.routing().active, 'blue');
  assert.equal((await readHistory(e.paths)).at(-1)!.result, 'failed');
});

test('questions answered no: deploy aborts with nothing switched; rollback keeps the old colour running', async (t) => {
  const p = await project(t);
  const { e, runtime, proxy } = p;
  await init(e);
  take(runtime.calls);
  take(proxy.calls);

  p.answer = () => false;
  await assert.rejects(deploy(e), hasCode('ABORTED'));
  assert.deepEqual(take(p.asked), ['All checks passed. Switch traffic to green?']);
  assert.deepEqual(take(runtime.calls), ['prepare r2', 'start green r2', 'stop green']);
  assert.deepEqual(take(proxy.calls), ['setBackends green']);
  assert.equal(proxy.routing().active, 'blue');
  assert.equal((await p.state())?.active, 'blue');
  assert.equal((await readHistory(e.paths)).at(-1)!.result, 'aborted');

  p.answer = () => true;
  await deploy(e);
  take(runtime.calls);
  take(proxy.calls);
  take(p.asked);
  take(p.steps);

  p.answer = (q) => q !== 'Stop green environment?';
  const plan = await rollbackPlan(e);
  const ask = plan.actions.at(-1)!.ask!;
  assert.ok('skip' in ask.no);
  await rollback(e);
  assert.deepEqual(take(p.asked), ['Continue with rollback?', 'Stop green environment?']);
  assert.deepEqual(p.steps.at(-1), {
    index: 4,
    total: 4,
    title: 'Managing green environment',
    outcome: `skip: ${ask.no.skip}`,
  });
  assert.deepEqual(take(runtime.calls), ['start blue r1']);
  assert.deepEqual(take(proxy.calls), ['setBackends blue', 'switchTo blue']);
  assert.ok(await running(runtime, 'green'));
  assert.equal(proxy.routing().active, 'blue');
});

test('the journal records the action kind of each step while the operation runs', async (t) => {
  const p = await project(t);
  const { e, runtime } = p;
  await init(e);
  let seen: JournalData | undefined;
  runtime.onStart = async () => {
    seen = JSON.parse(await fs.readFile(e.paths.journal, 'utf8')) as JournalData;
  };

  await deploy(e, { autoSwitch: true });
  assert.ok(seen, 'start ran during the deploy');
  assert.equal(seen.type, 'deploy');
  assert.equal(seen.committed, false);
  assert.deepEqual(
    seen.steps.map((s) => [s.index, s.kind, s.status]),
    [
      [1, 'target', 'done'],
      [2, 'backup', 'skipped'],
      [3, 'pull', 'skipped'],
      [4, 'build-start', 'started'],
    ],
  );
  await assert.rejects(fs.access(e.paths.journal), { code: 'ENOENT' });
});

test('a canary deploy sends 50% of clients to green, then switches everyone', async (t) => {
  const p = await project(t);
  const { e, runtime, proxy } = p;
  await init(e);
  take(proxy.calls);
  take(runtime.calls);
  take(p.steps);

  const opts = { autoSwitch: true, canary: [50, 100], stepWait: 50 };
  const plan = await deployPlan(e, opts);
  await deploy(e, opts);
  assert.deepEqual(take(p.steps), expectedSteps(plan));
  assert.deepEqual(take(proxy.calls), ['setBackends green', 'setWeight green 50', 'switchTo green', 'drain blue']);
  assert.deepEqual(take(runtime.calls), ['prepare r2', 'start green r2', 'stop blue', 'prune 3']);
  assert.equal(proxy.routing().canary, null);
  const last = (await readHistory(e.paths)).at(-1)!;
  assert.ok(last.flags?.includes('canary=50,100'), String(last.flags));
});

test('an invalid canary is refused as a usage error before the runtime or the proxy sees a call', async (t) => {
  const p = await project(t);
  await assert.rejects(deploy(p.e, { autoSwitch: true, canary: [-5] }), hasCode('USAGE'));
  assert.deepEqual(p.runtime.calls, []);
  assert.deepEqual(p.proxy.calls, []);
  assert.deepEqual(p.steps, []);
  assert.deepEqual(await readHistory(p.e.paths), []);
});
