/** The recovery planner: journal of an interrupted operation + facts -> what `switchyard recover` does. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeInterruption, planRecovery, type RecoverFacts, type RecoveryPlan } from '../../src/plan/recover.ts';
import { assess } from '../../src/plan/assess.ts';
import type { JournalData } from '../../src/state/journal.ts';
import { activated, emptyState } from '../../src/state/state.ts';

const blueLive = activated(emptyState('app'), 'blue', 'r1');
const greenLive = activated(blueLive, 'green', 'r2');

function journal(over: Partial<JournalData> = {}): JournalData {
  return {
    version: 1,
    id: 'op1',
    type: 'deploy',
    owner: { pid: 4242, host: 'h' },
    startedAt: 't',
    updatedAt: 't',
    from: 'blue',
    to: 'green',
    release: 'r2',
    backup: '/p/backups/db-backup-1.dump',
    flags: ['autoSwitch'],
    startsTarget: true,
    committed: false,
    steps: [
      { index: 1, title: 'Determining deployment target', status: 'done', startedAt: 't', endedAt: 't' },
      { index: 2, title: 'Backing up database', status: 'done', startedAt: 't', endedAt: 't' },
      { index: 3, title: 'Pulling latest code', status: 'skipped', startedAt: 't', endedAt: 't' },
      { index: 4, title: 'Building and starting green environment', status: 'started', startedAt: 't' },
    ],
    ...over,
  };
}

function facts(over: Partial<RecoverFacts> = {}): RecoverFacts {
  return {
    journal: journal(),
    state: blueLive,
    currentEnv: 'blue',
    running: { blue: true, green: true },
    proxyActive: 'blue',
    runningRelease: { blue: 'r1', green: 'r2' },
    healthy: {},
    deploy: { stopOld: true, keepOldFor: 0 },
    ...over,
  };
}

function converge(p: RecoveryPlan) {
  assert.equal(p.kind, 'converge', JSON.stringify(p));
  return p as Extract<RecoveryPlan, { kind: 'converge' }>;
}
const kinds = (p: RecoveryPlan) =>
  converge(p).actions.map((a) => `${a.kind}:${'colour' in a ? a.colour : a.kind === 'switch' ? a.to : a.active}`);

test('before the switch step: stop the target, leave state.json alone', () => {
  const p = converge(planRecovery(facts()));
  assert.equal(p.outcome, 'undone');
  assert.equal(p.active, 'blue');
  assert.deepEqual(p.actions, [{ kind: 'stop', colour: 'green', record: false, why: 'green never received traffic' }]);
});

test('before the switch step, target not started yet: nothing to do', () => {
  const p = converge(planRecovery(facts({ running: { blue: true, green: false } })));
  assert.deepEqual([p.outcome, p.actions.length], ['undone', 0]);
});

test('a target whose processes are all down at this moment but still started (being restarted): stopped', () => {
  // The supervisor keeps starting a crash-looping target again: not running now, but started.
  const p = converge(
    planRecovery(facts({ running: { blue: true, green: false }, started: { blue: true, green: true } })),
  );
  assert.deepEqual(p.actions, [{ kind: 'stop', colour: 'green', record: false, why: 'green never received traffic' }]);
});

test('interrupted before choosing a target: nothing had changed', () => {
  const p = converge(
    planRecovery(
      facts({ journal: journal({ from: null, to: null, steps: [] }), running: { blue: true, green: false } }),
    ),
  );
  assert.deepEqual([p.outcome, p.active, p.actions.length], ['undone', 'blue', 0]);
});

test('committed but the proxy still sends traffic to the old colour: undo (no health round needed)', () => {
  const p = converge(planRecovery(facts({ journal: journal({ committed: true }) })));
  assert.equal(p.outcome, 'undone');
  assert.deepEqual(kinds(p), ['stop:green']);
});

test('not committed never trusts a proxy that happens to point at the target: it is never stopped', () => {
  // Impossible in a deploy (the switch step commits before moving traffic), but a guard all the same.
  const p = converge(planRecovery(facts({ proxyActive: 'green' })));
  assert.deepEqual(p.actions, []);
});

test('traffic on the target: ask for a health round first', () => {
  assert.deepEqual(planRecovery(facts({ journal: journal({ committed: true }), proxyActive: 'green' })), {
    kind: 'check-health',
    colour: 'green',
  });
});

test('traffic on a healthy target: record it live, then drain and stop the old colour', () => {
  const p = converge(
    planRecovery(facts({ journal: journal({ committed: true }), proxyActive: 'green', healthy: { green: true } })),
  );
  assert.equal(p.outcome, 'finished');
  assert.equal(p.active, 'green');
  assert.deepEqual(kinds(p), ['write-state:green', 'stop:blue']);
  const ws = p.actions[0] as Extract<(typeof p.actions)[number], { kind: 'write-state' }>;
  assert.deepEqual([ws.release, ws.backup, ws.lastDeploy], ['r2', '/p/backups/db-backup-1.dump', true]);
  assert.equal((p.actions[1] as { record: boolean }).record, true);
});

test('state already written and old colour already stopped: nothing left but the journal', () => {
  const done = {
    ...greenLive,
    colours: { ...greenLive.colours, blue: { ...greenLive.colours.blue, status: 'stopped' as const } },
  };
  const p = converge(
    planRecovery(
      facts({
        journal: journal({ committed: true }),
        state: done,
        currentEnv: 'green',
        proxyActive: 'green',
        running: { blue: false, green: true },
        healthy: { green: true },
      }),
    ),
  );
  assert.deepEqual(p.actions, []);
});

test('state written, .current-env not yet: rewrite both', () => {
  const p = converge(
    planRecovery(
      facts({
        journal: journal({ committed: true }),
        state: greenLive,
        currentEnv: 'blue',
        proxyActive: 'green',
        healthy: { green: true },
      }),
    ),
  );
  assert.deepEqual(kinds(p), ['write-state:green', 'stop:blue']);
});

test('old colour stopped but still standby in state.json: recorded as stopped', () => {
  const p = converge(
    planRecovery(
      facts({
        journal: journal({ committed: true }),
        state: greenLive,
        currentEnv: 'green',
        proxyActive: 'green',
        running: { blue: false, green: true },
        healthy: { green: true },
      }),
    ),
  );
  assert.deepEqual(kinds(p), ['stop:blue']);
});

test('finishing honours --keep-old, deploy.stopOld: false and deploy.keepOldFor', () => {
  const base = { proxyActive: 'green' as const, healthy: { green: true } };
  const keep = converge(planRecovery(facts({ ...base, journal: journal({ committed: true, flags: ['keepOld'] }) })));
  assert.deepEqual(kinds(keep), ['write-state:green']);
  assert.match(keep.notes.join(), /--keep-old/);
  const noStop = converge(
    planRecovery(facts({ ...base, journal: journal({ committed: true }), deploy: { stopOld: false, keepOldFor: 0 } })),
  );
  assert.deepEqual(kinds(noStop), ['write-state:green']);
  const warm = converge(
    planRecovery(
      facts({ ...base, journal: journal({ committed: true }), deploy: { stopOld: true, keepOldFor: 60_000 } }),
    ),
  );
  assert.deepEqual(kinds(warm), ['write-state:green', 'keep-warm:blue']);
  assert.equal((warm.actions[1] as { ms: number }).ms, 60_000);
});

test('traffic on an unhealthy target: check the old colour, switch back to it and stop the target', () => {
  const f = facts({ journal: journal({ committed: true }), proxyActive: 'green', healthy: { green: false } });
  assert.deepEqual(planRecovery(f), { kind: 'check-health', colour: 'blue' });
  const p = converge(planRecovery({ ...f, healthy: { green: false, blue: true } }));
  assert.equal(p.outcome, 'switched-back');
  assert.equal(p.active, 'blue');
  assert.deepEqual(kinds(p), ['switch:blue', 'stop:green']);
});

test('traffic on a target that is not even running: no health round for it', () => {
  const f = facts({
    journal: journal({ committed: true }),
    proxyActive: 'green',
    running: { blue: true, green: false },
  });
  assert.deepEqual(planRecovery(f), { kind: 'check-health', colour: 'blue' });
  const p = converge(planRecovery({ ...f, healthy: { blue: true } }));
  assert.deepEqual(kinds(p), ['switch:blue']);
});

test('switch back after state.json was already written: state follows, the target is recorded stopped', () => {
  const p = converge(
    planRecovery(
      facts({
        journal: journal({ committed: true }),
        state: greenLive,
        currentEnv: 'green',
        proxyActive: 'green',
        healthy: { green: false, blue: true },
      }),
    ),
  );
  assert.deepEqual(kinds(p), ['switch:blue', 'write-state:blue', 'stop:green']);
  assert.equal((p.actions[2] as { record: boolean }).record, true);
});

test('neither colour can serve: stuck, with the reason and what to do', () => {
  const p = planRecovery(
    facts({ journal: journal({ committed: true }), proxyActive: 'green', healthy: { green: false, blue: false } }),
  );
  assert.equal(p.kind, 'stuck');
  assert.match(
    (p as { why: string }).why,
    /green, which fails its health checks, and blue cannot take it back \(it fails its health checks too\)/,
  );
});

test('rollback to a warm colour, interrupted before the switch: the warm colour keeps running', () => {
  const j = journal({
    type: 'rollback',
    from: 'green',
    to: 'blue',
    release: 'r1',
    startsTarget: false,
    flags: ['force'],
    backup: null,
  });
  const p = converge(planRecovery(facts({ journal: j, state: greenLive, currentEnv: 'green', proxyActive: 'green' })));
  assert.deepEqual(p.actions, []);
  assert.match(p.notes.join(), /blue was running before the rollback: left running/);
});

test('rollback that started the old release, interrupted before the switch: stop it again', () => {
  const j = journal({ type: 'rollback', from: 'green', to: 'blue', release: 'r1', startsTarget: true, backup: null });
  const p = converge(planRecovery(facts({ journal: j, state: greenLive, currentEnv: 'green', proxyActive: 'green' })));
  assert.deepEqual(kinds(p), ['stop:blue']);
});

test('rollback finished: --force stops the failed colour; without it, it is left running (it would have asked)', () => {
  const base = { state: greenLive, currentEnv: 'green', proxyActive: 'blue' as const, healthy: { blue: true } };
  const forced = converge(
    planRecovery(
      facts({
        ...base,
        journal: journal({
          type: 'rollback',
          from: 'green',
          to: 'blue',
          release: 'r1',
          committed: true,
          flags: ['force'],
        }),
      }),
    ),
  );
  assert.deepEqual(kinds(forced), ['write-state:blue', 'stop:green']);
  const asked = converge(
    planRecovery(
      facts({
        ...base,
        journal: journal({ type: 'rollback', from: 'green', to: 'blue', release: 'r1', committed: true, flags: [] }),
      }),
    ),
  );
  assert.deepEqual(kinds(asked), ['write-state:blue']);
  assert.match(asked.notes.join(), /green left running/);
});

test('switch finished: state records the running release, no lastDeploy, nothing stopped', () => {
  const j = journal({
    type: 'switch',
    from: 'blue',
    to: 'green',
    release: null,
    startsTarget: false,
    committed: true,
    backup: null,
  });
  const p = converge(planRecovery(facts({ journal: j, proxyActive: 'green', healthy: { green: true } })));
  assert.deepEqual(kinds(p), ['write-state:green']);
  const ws = p.actions[0] as { release: string | null; lastDeploy: boolean };
  assert.deepEqual([ws.release, ws.lastDeploy], ['r2', false]);
});

test('init: before activation the started colour is stopped; after it, state.json is written', () => {
  const j = journal({ type: 'init', from: null, to: 'blue', release: 'r1', backup: null });
  const early = converge(
    planRecovery(
      facts({
        journal: j,
        state: undefined,
        currentEnv: undefined,
        proxyActive: null,
        running: { blue: true, green: false },
      }),
    ),
  );
  assert.deepEqual([early.active, ...kinds(early)], [null, 'stop:blue']);
  const committedNoTraffic = converge(
    planRecovery(
      facts({
        journal: { ...j, committed: true },
        state: undefined,
        currentEnv: undefined,
        proxyActive: null,
        running: { blue: true, green: false },
      }),
    ),
  );
  assert.deepEqual(kinds(committedNoTraffic), ['stop:blue']);
  const late = converge(
    planRecovery(
      facts({
        journal: { ...j, committed: true },
        state: undefined,
        currentEnv: undefined,
        proxyActive: 'blue',
        running: { blue: true, green: false },
        healthy: { blue: true },
      }),
    ),
  );
  assert.deepEqual([late.outcome, ...kinds(late)], ['finished', 'write-state:blue']);
});

test('never stops the colour state.json calls active', () => {
  const p = converge(
    planRecovery(facts({ journal: journal({ from: 'green', to: 'blue' }), state: blueLive, proxyActive: 'green' })),
  );
  assert.deepEqual(p.actions, []);
});

test('describeInterruption names the operation, the dead pid and the last steps', () => {
  const text = describeInterruption(journal());
  assert.match(text, /^deploy op1 \(blue -> green, release r2\) was interrupted: its process \(pid 4242\) is gone/);
  assert.match(text, /last step started: \[4\] Building and starting green environment \(not finished\)/);
  assert.match(text, /last step done: \[2\] Backing up database/);
  assert.match(
    describeInterruption(journal({ committed: true, failed: 'boom' })),
    /failed after traffic may have moved \(boom\)/,
  );
});

test(
  'assess: an interrupted journal is one problem whose fix is `switchyard recover`, ' + 'not the symptoms it explains',
  () => {
    const problems = assess({
      state: blueLive,
      currentEnv: 'blue',
      running: { blue: true, green: true },
      proxyActive: 'blue',
      lockHeld: false,
      interrupted: journal(),
    });
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.match(problems[0]!.what, /deploy op1 .* was interrupted/);
    assert.match(problems[0]!.fix, /switchyard recover/);
    // Without the journal the same facts are the old "both colours are running" problem.
    assert.match(
      assess({
        state: blueLive,
        currentEnv: 'blue',
        running: { blue: true, green: true },
        proxyActive: 'blue',
        lockHeld: false,
      })[0]!.what,
      /both colours are running/,
    );
  },
);

test('killed during a canary step: the split ends first, then the target stops', () => {
  const p = converge(planRecovery(facts({ proxyCanary: { colour: 'green', percent: 10 } })));
  assert.equal(p.outcome, 'undone');
  assert.deepEqual(kinds(p), ['end-split:green', 'stop:green']);
});

test('status flags a split toward a colour that is not running', () => {
  const problems = assess({
    state: blueLive,
    running: { blue: true, green: false },
    proxyActive: 'blue',
    proxyCanary: { colour: 'green', percent: 25 },
    currentEnv: 'blue',
    lockHeld: false,
  });
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.match(problems[0]!.what, /25% of clients to green, which is not running/);
  assert.match(problems[0]!.fix, /switchyard switch green --weight 0/);
});
