import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planDeploy, planInit, planRollback, planSwitch } from '../../src/plan/plan.ts';
import { assess } from '../../src/plan/assess.ts';
import type { Facts } from '../../src/plan/facts.ts';
import { activated, emptyState, withColourStatus } from '../../src/state/state.ts';
import { SwitchyardError } from '../../src/errors.ts';

const base = emptyState('app');
const blueActive = activated(base, 'blue', 'r1');
const greenActiveBlueStandby = activated(blueActive, 'green', 'r2');
const greenActiveBlueStopped = withColourStatus(greenActiveBlueStandby, 'blue', 'stopped');

function facts(over: Partial<Facts>): Facts {
  return {
    state: undefined,
    running: { blue: false, green: false },
    proxyActive: undefined,
    currentEnv: undefined,
    lockHeld: false,
    ...over,
  };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SwitchyardError, `expected a SwitchyardError, got ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

test('deploy: state file missing -> not initialised (exit 2)', () => {
  assert.equal(
    code(() => planDeploy(facts({}))),
    'NOT_INITIALISED',
  );
});

test('deploy: nothing active (after down) -> not initialised', () => {
  assert.equal(
    code(() => planDeploy(facts({ state: base }))),
    'NOT_INITIALISED',
  );
});

test('deploy: blue active -> target green, nothing to replace', () => {
  const p = planDeploy(
    facts({ state: blueActive, running: { blue: true, green: false }, proxyActive: 'blue', currentEnv: 'blue' }),
  );
  assert.deepEqual([p.from, p.target, p.replaceRunningTarget, p.notes.length], ['blue', 'green', false, 0]);
});

test('deploy: green active -> target blue', () => {
  const p = planDeploy(
    facts({ state: greenActiveBlueStopped, running: { blue: false, green: true }, proxyActive: 'green' }),
  );
  assert.deepEqual([p.from, p.target], ['green', 'blue']);
});

test('deploy: both running -> replaces the inactive one and says so', () => {
  const p = planDeploy(facts({ state: blueActive, running: { blue: true, green: true }, proxyActive: 'blue' }));
  assert.equal(p.target, 'green');
  assert.equal(p.replaceRunningTarget, true);
  assert.match(p.notes.join('\n'), /green is running but not active/);
});

test('deploy: active colour not running -> still plans, with a warning', () => {
  const p = planDeploy(facts({ state: blueActive, running: { blue: false, green: false }, proxyActive: 'blue' }));
  assert.match(p.notes.join('\n'), /not running/);
});

test('deploy: proxy disagrees with state -> inconsistent (exit 4)', () => {
  assert.equal(
    code(() => planDeploy(facts({ state: blueActive, running: { blue: true, green: true }, proxyActive: 'green' }))),
    'INCONSISTENT',
  );
});

test('rollback: state file missing / nothing deployed -> refused', () => {
  assert.equal(
    code(() => planRollback(facts({}))),
    'NOT_INITIALISED',
  );
  assert.equal(
    code(() => planRollback(facts({ state: blueActive, running: { blue: true, green: false } }))),
    'USAGE',
  );
});

test('rollback: green active, blue stopped -> start blue from its release', () => {
  const p = planRollback(
    facts({ state: greenActiveBlueStopped, running: { blue: false, green: true }, proxyActive: 'green' }),
  );
  assert.deepEqual(p, { from: 'green', to: 'blue', release: 'r1', start: true });
});

test('rollback: green active, blue warm -> pure switch', () => {
  const p = planRollback(
    facts({ state: greenActiveBlueStandby, running: { blue: true, green: true }, proxyActive: 'green' }),
  );
  assert.deepEqual(p, { from: 'green', to: 'blue', release: 'r1', start: false });
});

test('rollback: empty state after `down` (releases remembered, nothing active) -> not initialised (exit 2)', () => {
  // What `down` leaves: every colour stopped, their releases kept, no active colour.
  const afterDown = { ...withColourStatus(greenActiveBlueStopped, 'green', 'stopped'), active: null };
  assert.equal(afterDown.colours.blue.release, 'r1');
  assert.equal(afterDown.colours.green.release, 'r2');
  for (const running of [
    { blue: false, green: false },
    { blue: true, green: true },
  ]) {
    assert.equal(
      code(() => planRollback(facts({ state: afterDown, running, proxyActive: undefined, currentEnv: undefined }))),
      'NOT_INITIALISED',
    );
  }
  assert.equal(
    code(() => planRollback(facts({ state: base }))),
    'NOT_INITIALISED',
  );
});

test("rollback: blue active with green as the previous colour -> back to green's release", () => {
  // init (blue r1) -> deploy (green r2) -> deploy (blue r3): green keeps r2 as the rollback target.
  const blueAgain = activated(greenActiveBlueStopped, 'blue', 'r3');
  const stopped = withColourStatus(blueAgain, 'green', 'stopped');
  const cold = planRollback(
    facts({ state: stopped, running: { blue: true, green: false }, proxyActive: 'blue', currentEnv: 'blue' }),
  );
  assert.deepEqual(cold, { from: 'blue', to: 'green', release: 'r2', start: true });
  const warm = planRollback(
    facts({ state: blueAgain, running: { blue: true, green: true }, proxyActive: 'blue', currentEnv: 'blue' }),
  );
  assert.deepEqual(warm, { from: 'blue', to: 'green', release: 'r2', start: false });
});

test('init: refuses when a colour is active; allowed on a fresh or downed project', () => {
  assert.equal(
    code(() => planInit(facts({ state: blueActive }))),
    'USAGE',
  );
  assert.equal(planInit(facts({})).target, 'blue');
  assert.equal(planInit(facts({ state: base })).target, 'blue');
});

test('switch: refuses a stopped colour; notices an already active one', () => {
  assert.equal(
    code(() => planSwitch(facts({ state: blueActive, running: { blue: true, green: false } }), 'green')),
    'USAGE',
  );
  const p = planSwitch(
    facts({ state: blueActive, running: { blue: true, green: false }, proxyActive: 'blue' }),
    'blue',
  );
  assert.equal(p.alreadyActive, true);
});

test('assess: consistent states have no problems', () => {
  assert.deepEqual(assess(facts({})), []);
  assert.deepEqual(
    assess(
      facts({ state: blueActive, running: { blue: true, green: false }, proxyActive: 'blue', currentEnv: 'blue' }),
    ),
    [],
  );
  // Both running while a deploy holds the lock is expected.
  assert.deepEqual(
    assess(
      facts({
        state: blueActive,
        running: { blue: true, green: true },
        proxyActive: 'blue',
        currentEnv: 'blue',
        lockHeld: true,
      }),
    ),
    [],
  );
  // Both running when the idle one is kept warm (standby) is expected too.
  assert.deepEqual(
    assess(
      facts({
        state: greenActiveBlueStandby,
        running: { blue: true, green: true },
        proxyActive: 'green',
        currentEnv: 'green',
      }),
    ),
    [],
  );
});

test('assess: every disagreement is named with a fix', () => {
  const cases: Array<[Partial<Facts>, RegExp]> = [
    [{ running: { blue: true, green: false } }, /state.json is missing/],
    [
      { state: blueActive, running: { blue: true, green: false }, proxyActive: 'green', currentEnv: 'blue' },
      /proxy sends traffic to green/,
    ],
    [
      { state: blueActive, running: { blue: true, green: false }, proxyActive: 'blue', currentEnv: 'green' },
      /\.current-env says "green"/,
    ],
    [
      { state: blueActive, running: { blue: true, green: false }, proxyActive: 'blue', currentEnv: undefined },
      /\.current-env says \(missing\)/,
    ],
    [
      { state: blueActive, running: { blue: false, green: false }, proxyActive: 'blue', currentEnv: 'blue' },
      /none of its services is running/,
    ],
    [
      { state: blueActive, running: { blue: true, green: true }, proxyActive: 'blue', currentEnv: 'blue' },
      /both colours are running/,
    ],
    [
      {
        state: blueActive,
        running: { blue: true, green: false },
        missing: { blue: ['api'], green: [] },
        proxyActive: 'blue',
        currentEnv: 'blue',
      },
      /blue is active but its api is not running/,
    ],
  ];
  for (const [f, re] of cases) {
    const problems = assess(facts(f));
    assert.equal(problems.length, 1, `${re}: ${JSON.stringify(problems)}`);
    assert.match(problems[0]!.what, re);
    assert.match(problems[0]!.fix, /switchyard /);
  }
});
