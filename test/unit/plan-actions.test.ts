/** The planners' action lists (plan/*.ts): every command's steps, skips and questions, from facts alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plannedSteps, type Plan } from '../../src/plan/actions.ts';
import { assembleDeploy, type DeployInput } from '../../src/plan/deploy.ts';
import { assembleDown } from '../../src/plan/down.ts';
import type { Facts } from '../../src/plan/facts.ts';
import { assembleInit } from '../../src/plan/init.ts';
import { assembleRollback } from '../../src/plan/rollback.ts';
import { assembleSplit, assembleSwitch } from '../../src/plan/switch.ts';
import { assembleUp, STARTING_MESSAGE } from '../../src/plan/up.ts';
import { activated, emptyState, withColourStatus } from '../../src/state/state.ts';
import { SwitchyardError } from '../../src/errors.ts';

const base = emptyState('app');
const blueLive = activated(base, 'blue', 'r1');
const greenLiveBlueStopped = withColourStatus(activated(blueLive, 'green', 'r2'), 'blue', 'stopped');

function facts(over: Partial<Facts> = {}): Facts {
  return {
    state: blueLive,
    running: { blue: true, green: false },
    proxyActive: 'blue',
    currentEnv: 'blue',
    lockHeld: false,
    ...over,
  };
}

const deployDefaults: DeployInput = {
  skipBackup: false,
  backupConfigured: true,
  backupKind: 'postgres',
  pull: false,
  migrate: false,
  skipTests: false,
  autoSwitch: true,
  previewable: false,
  shares: [],
  stepWait: 30_000,
  watchMs: null,
  keepOld: false,
  stopOld: true,
  keepOldFor: 0,
};

const lines = (p: Plan) =>
  plannedSteps(p).map((s) => `[${s.index}/${s.total}] ${s.kind}: ${s.title}${s.skip ? ` – ${s.skip}` : ''}`);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SwitchyardError, String(e));
    return e.code;
  }
  return 'no error';
}

test("deploy: the guide's eight steps, pull skipped unless asked", () => {
  const p = assembleDeploy(facts(), deployDefaults);
  assert.deepEqual([p.command, p.from, p.to], ['deploy', 'blue', 'green']);
  assert.deepEqual(lines(p), [
    '[1/8] target: Determining deployment target',
    '[2/8] backup: Backing up database',
    '[3/8] pull: Pulling latest code – not requested (--pull or deploy.pull)',
    '[4/8] build-start: Building and starting green environment',
    '[5/8] health: Running health checks on green',
    '[6/8] smoke: Running smoke tests on green',
    '[7/8] switch: Switching traffic to green',
    '[8/8] stop-old: Stopping blue environment',
  ]);
  assert.ok(
    p.actions.every((a) => !a.ask),
    'auto-switch asks nothing',
  );
});

test('deploy: skips say why (--skip-backup, no backup configured, --ref, --skip-tests, --keep-old)', () => {
  const p = assembleDeploy(facts(), { ...deployDefaults, skipBackup: true, ref: 'v2', skipTests: true, keepOld: true });
  const skips = plannedSteps(p).map((s) => s.skip ?? '');
  assert.deepEqual(skips, [
    '',
    'skipped (--skip-backup)',
    'deploying ref v2',
    '',
    '',
    'skipped (--skip-tests)',
    '',
    'kept running (--keep-old)',
  ]);
  const build = p.actions.find((a) => a.kind === 'build-start');
  assert.deepEqual(build && build.kind === 'build-start' && [build.ref, build.keepFailed], ['v2', true]);
  const none = assembleDeploy(facts(), { ...deployDefaults, backupConfigured: false, backupKind: 'none' });
  assert.equal(none.actions[1]!.skip, 'no database backup configured (backup.kind: none)');
  const stopOff = assembleDeploy(facts(), { ...deployDefaults, stopOld: false });
  assert.equal(stopOff.actions.at(-1)!.skip, 'kept running (deploy.stopOld: false)');
});

test('deploy: migration, canary steps and the watch add steps; the question comes before the first move', () => {
  const p = assembleDeploy(facts(), {
    ...deployDefaults,
    migrate: true,
    skipBackup: true,
    shares: [10, 50],
    stepWait: 60_000,
    watchMs: 60_000,
    autoSwitch: false,
    previewable: true,
  });
  assert.deepEqual(
    p.actions.map((a) => a.kind),
    [
      'target',
      'backup',
      'pull',
      'build-start',
      'health',
      'migrate',
      'smoke',
      'shift',
      'shift',
      'switch',
      'watch',
      'stop-old',
    ],
  );
  assert.equal(plannedSteps(p)[0]!.total, 12);
  const migrate = p.actions[5]!;
  assert.equal(migrate.kind === 'migrate' && migrate.unbackedBecause, '--skip-backup');
  const [s10, s50] = [p.actions[7]!, p.actions[8]!];
  assert.equal(s10.title, 'Shifting 10% of clients to green');
  assert.deepEqual(s10.kind === 'shift' && [s10.percent, s10.first, s10.waitMs], [10, true, 60_000]);
  assert.deepEqual(s50.kind === 'shift' && [s50.percent, s50.first], [50, false]);
  assert.equal(s10.ask?.question, 'All checks passed. Shift traffic to green in steps (10%, 50%, 100%)?');
  assert.deepEqual(
    [s10.ask?.byDefault, s10.ask?.no, s10.ask?.preview],
    [false, { abort: 'not switched: you answered no' }, 'green'],
  );
  assert.equal(s50.ask, undefined);
  assert.equal(p.actions[10]!.title, 'Watching green for 1m0s');
});

test('deploy: one switch asks "Switch traffic"; keepOldFor keeps the old colour warm instead of stopping it', () => {
  const p = assembleDeploy(facts(), { ...deployDefaults, autoSwitch: false, keepOldFor: 120_000 });
  assert.equal(p.actions[6]!.ask?.question, 'All checks passed. Switch traffic to green?');
  assert.equal(p.actions[6]!.ask?.preview, undefined);
  const last = p.actions.at(-1)!;
  assert.deepEqual(last.kind === 'keep-warm' && [last.colour, last.ms, last.title], [
    'blue',
    120_000,
    'Stopping blue environment',
  ]);
});

test('deploy: a target left running is replaced; the warnings travel with the target step', () => {
  const p = assembleDeploy(facts({ running: { blue: true, green: true } }), deployDefaults);
  const build = p.actions[3]!;
  assert.equal(build.kind === 'build-start' && build.replace, true);
  const t = p.actions[0]!;
  assert.ok(t.kind === 'target');
  assert.deepEqual(t.info, ['Current environment: blue', 'Target environment: green']);
  assert.match(t.warnings.join('\n'), /green is running but not active/);
});

test('deploy: refusals come from the planner before any step (not initialised, proxy disagrees)', () => {
  assert.equal(
    code(() => assembleDeploy(facts({ state: undefined }), deployDefaults)),
    'NOT_INITIALISED',
  );
  assert.equal(
    code(() => assembleDeploy(facts({ proxyActive: 'green' }), deployDefaults)),
    'INCONSISTENT',
  );
});

test('notes: a held lock and an interrupted operation are said, not hidden', () => {
  const p = assembleDeploy(facts({ lockHeld: true }), deployDefaults);
  assert.match(p.notes.join('\n'), /holds the lock.*exit 3/);
});

test('rollback: asks to continue and to stop the old colour, unless --force', () => {
  const f = facts({ state: greenLiveBlueStopped, running: { blue: false, green: true }, proxyActive: 'green' });
  const p = assembleRollback(f, { force: false });
  assert.deepEqual([p.from, p.to, p.release], ['green', 'blue', 'r1']);
  assert.deepEqual(lines(p), [
    '[1/4] target: Determining rollback target',
    '[2/4] ensure-running: Ensuring blue environment is running',
    '[3/4] switch: Switching traffic to blue',
    '[4/4] stop-old: Managing green environment',
  ]);
  const ensure = p.actions[1]!;
  assert.equal(ensure.kind === 'ensure-running' && ensure.start, true);
  assert.deepEqual(ensure.ask?.no, { abort: 'rollback cancelled' });
  assert.deepEqual(p.actions[3]!.ask, {
    question: 'Stop green environment?',
    byDefault: true,
    no: { skip: 'green left running (no traffic); stop it later with `switchyard down green`' },
  });
  const forced = assembleRollback(f, { force: true });
  assert.ok(forced.actions.every((a) => !a.ask));
  const warm = assembleRollback({ ...f, running: { blue: true, green: true } }, { force: true });
  const w = warm.actions[1]!;
  assert.equal(w.kind === 'ensure-running' && w.start, false);
});

test('init: shared services skipped when none; the last step activates blue', () => {
  const f = facts({ state: undefined, running: { blue: false, green: false }, proxyActive: undefined });
  const p = assembleInit(f, { shared: false, skipTests: true });
  assert.deepEqual(lines(p), [
    '[1/6] start-shared: Starting shared services – none configured (shared:)',
    '[2/6] start-proxy: Starting proxy',
    '[3/6] build-start: Building and starting blue environment',
    '[4/6] health: Running health checks on blue',
    '[5/6] smoke: Running smoke tests on blue – skipped (--skip-tests)',
    '[6/6] switch: Activating blue',
  ]);
  assert.equal(assembleInit(f, { shared: true, skipTests: false }).actions[0]!.skip, undefined);
  assert.equal(
    code(() => assembleInit(facts(), { shared: false, skipTests: false })),
    'USAGE',
  );
});

test('switch: check, switch, record; a switch to the live colour re-asserts it (no colour to go back to)', () => {
  const both = facts({ running: { blue: true, green: true } });
  const p = assembleSwitch(both, 'green', { force: true });
  assert.deepEqual(lines(p), [
    '[1/3] check: Checking green',
    '[2/3] switch: Switching traffic to green',
    '[3/3] record-state: Recording state',
  ]);
  const c = p.actions[0]!;
  assert.equal(c.kind === 'check' && c.force, true);
  const again = assembleSwitch(both, 'blue', { force: false }).actions[1]!;
  assert.deepEqual(again.kind === 'switch' && [again.from, again.record], [null, false]);
  assert.equal(
    code(() => assembleSwitch(facts(), 'green', { force: false })),
    'USAGE',
  );
});

test('switch --weight: a share, the end of a split, and the refusals', () => {
  const both = facts({ running: { blue: true, green: true } });
  assert.deepEqual(lines(assembleSplit(both, 'green', 25, { force: false })), [
    '[1/2] check: Checking green',
    '[2/2] split: Sending 25% of clients to green',
  ]);
  assert.deepEqual(lines(assembleSplit(both, 'green', 0, { force: false })), [
    '[1/1] end-split: Ending the split: every client on blue',
  ]);
  assert.equal(
    code(() => assembleSplit(both, 'blue', 25, { force: false })),
    'USAGE',
  );
  assert.equal(
    code(() => assembleSplit(facts({ state: base, proxyActive: null }), 'green', 25, { force: false })),
    'USAGE',
  );
  // The proxy is down: its snapshot brings back state.json's colour, so that is the live one.
  const down = assembleSplit({ ...both, proxyActive: undefined }, 'green', 25, { force: false });
  assert.equal(down.from, 'blue');
});

test('down: the proxy, both colours, then state; --volumes asks unless --yes; the live colour alone is refused', () => {
  const input = { shared: false, volumes: false, yes: false, canStopShared: true, canRemoveVolumes: true };
  assert.deepEqual(lines(assembleDown(facts(), input)), [
    '[1/4] stop-proxy: Stopping the proxy',
    '[2/4] stop-colour: Stopping blue',
    '[3/4] stop-colour: Stopping green',
    '[4/4] forget-active: Recording state',
  ]);
  const vol = assembleDown(facts(), { ...input, volumes: true });
  assert.deepEqual(
    vol.actions.map((a) => a.kind),
    ['stop-proxy', 'stop-colour', 'stop-colour', 'stop-shared', 'remove-volumes', 'forget-active'],
  );
  assert.equal(vol.actions[4]!.ask?.byDefault, false);
  assert.equal(assembleDown(facts(), { ...input, volumes: true, yes: true }).actions[4]!.ask, undefined);
  const proc = assembleDown(facts(), { ...input, shared: true, canStopShared: false, canRemoveVolumes: false });
  assert.equal(proc.actions.length, 4, 'a runtime without shared services plans no step for them');
  assert.deepEqual(lines(assembleDown(facts(), { ...input, colour: 'green' })), ['[1/1] stop-colour: Stopping green']);
  assert.equal(
    code(() => assembleDown(facts(), { ...input, colour: 'blue' })),
    'USAGE',
  );
});

test('up: the live colour first (behind a 503 while it starts), a warm one too, a stopped one never', () => {
  const warm = activated(blueLive, 'green', 'r2'); // green live, blue standby (kept warm)
  const down = { running: { blue: false, green: false }, proxyActive: undefined, currentEnv: 'green' };
  const p = assembleUp(facts({ ...down, state: warm }), { shared: false, selfRestarting: false });
  assert.deepEqual([p.command, p.to, p.release], ['up', 'green', 'r2']);
  assert.deepEqual(lines(p), [
    '[1/5] start-shared: Starting shared services – none configured (shared:)',
    '[2/5] start-proxy: Starting proxy',
    '[3/5] revive: Starting green (live)',
    '[4/5] revive: Starting blue',
    '[5/5] supervise: Starting the supervisor',
  ]);
  const proxy = p.actions[1]!;
  assert.equal(proxy.kind === 'start-proxy' && proxy.hold, STARTING_MESSAGE);
  const stopped = assembleUp(facts({ ...down, state: greenLiveBlueStopped }), { shared: true, selfRestarting: true });
  assert.deepEqual(
    plannedSteps(stopped).map((s) => s.skip ?? ''),
    [
      '',
      '',
      '',
      'stopped: only a warm colour is started',
      "the runtime restarts exited services itself (Docker's restart policies)",
    ],
  );
  // Everything runs already: nothing but skips, and no maintenance hold.
  const running = assembleUp(facts({ state: warm, running: { blue: true, green: true } }), {
    shared: false,
    selfRestarting: false,
  });
  assert.equal(running.actions[1]!.kind === 'start-proxy' && running.actions[1]!.hold, undefined);
  assert.match(running.actions[2]!.skip ?? '', /^already running \(release r2\)$/);
  // Nothing live (after down, or never deployed): nothing but the shared services.
  assert.equal(assembleUp(facts({ state: base }), { shared: false, selfRestarting: false }).actions.length, 1);
  assert.match(
    assembleUp(facts({ state: undefined }), { shared: false, selfRestarting: false }).notes.join(),
    /nothing was ever deployed/,
  );
});
