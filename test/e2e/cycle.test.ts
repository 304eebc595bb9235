/** init -> deploy -> rollback -> deploy with the example app, through the real CLI and proxy. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeProject, type Project } from '../helpers/project.ts';
import { budget } from '../helpers/budget.ts';

let p: Project;
before(async () => {
  p = await makeProject('example');
}, budget(1_000));
after(async () => {
  await p.cleanup();
}, budget(3_000));

async function expectLive(colour: string, version: string, historyLen: number, lastType: string) {
  assert.equal((await p.file('.current-env'))?.trim(), colour);
  const state = JSON.parse((await p.file('.switchyard/state.json'))!);
  assert.equal(state.active, colour);
  assert.equal(state.colours[colour].status, 'live');
  const health = await p.get('/api/health');
  assert.equal(health.status, 200);
  assert.equal(health.colour, colour);
  const body = JSON.parse(health.body);
  assert.equal(body.environment, colour);
  assert.equal(body.version, version);
  assert.equal(body.database, 'connected');
  const page = await p.get('/');
  assert.equal(page.colour, colour);
  assert.match(page.body, new RegExp(version.replace(/\./g, '\\.')));
  const history = (await p.file('.switchyard/history.jsonl'))!
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(history.length, historyLen);
  const last = history.at(-1);
  assert.equal(last.type, lastType);
  assert.equal(last.result, 'success');
  assert.equal(last.to, colour);
  return state;
}

async function setVersion(v: string) {
  for (const svc of ['api', 'frontend']) await fs.writeFile(path.join(p.dir, svc, 'VERSION'), `${v}\n`);
}

test(
  'init -> deploy -> rollback -> deploy cycles keep state, .current-env, history and the header in step',
  budget(6_800),
  async () => {
    const init = await p.run(['init']);
    assert.equal(init.code, 0, init.stdout + init.stderr);
    assert.match(init.stdout, /\[6\/6\] Activating blue\.\.\. ✓/);
    const s1 = await expectLive('blue', '1.0.0', 1, 'init');

    await setVersion('2.0.0');
    const d1 = await p.run(['deploy', '--auto-switch']);
    assert.equal(d1.code, 0, d1.stdout + d1.stderr);
    for (let i = 1; i <= 8; i++) assert.match(d1.stdout, new RegExp(`\\[${i}/8\\]`));
    const s2 = await expectLive('green', '2.0.0', 2, 'deploy');
    assert.equal(s2.colours.blue.release, s1.colours.blue.release);
    assert.equal(s2.colours.blue.status, 'stopped');
    assert.notEqual(s2.colours.green.release, s1.colours.blue.release);

    // A later edit of the working tree must not change what runs: the release is a snapshot.
    await setVersion('9.9.9');
    assert.equal(JSON.parse((await p.get('/api/health')).body).version, '2.0.0');

    const rb = await p.run(['rollback', '--force']);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    const s3 = await expectLive('blue', '1.0.0', 3, 'rollback');
    assert.equal(s3.colours.blue.release, s1.colours.blue.release, 'rollback restarts exactly the previous release');
    assert.equal(s3.colours.green.status, 'stopped');

    await setVersion('3.0.0');
    const d2 = await p.run(['deploy', '--yes']);
    assert.equal(d2.code, 0, d2.stdout + d2.stderr);
    await expectLive('green', '3.0.0', 4, 'deploy');

    const st = await p.run(['status', '--json']);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    const report = JSON.parse(st.stdout.trim().split('\n').at(-1)!);
    assert.equal(report.event, 'status');
    assert.equal(report.active, 'green');
    assert.equal(report.proxy.active, 'green');
    assert.deepEqual(report.problems, []);

    const hist = await p.run(['history', '--json']);
    assert.equal(hist.stdout.trim().split('\n').length, 4);
  },
);

test(
  'deploy --auto-switch --json: every stdout line is a JSON event, ' +
    'each of the 8 steps starts and ends, a final ok result',
  budget(1_500),
  async () => {
    // After the cycle above green is live, so this deploy goes to blue; run on its own, it inits first.
    if ((await p.file('.switchyard/state.json')) === undefined) {
      const init = await p.run(['init']);
      assert.equal(init.code, 0, init.stdout + init.stderr);
    }
    const from = JSON.parse((await p.file('.switchyard/state.json'))!).active as 'blue' | 'green';
    const to = from === 'blue' ? 'green' : 'blue';
    const historyLen = (await p.file('.switchyard/history.jsonl'))!.trim().split('\n').length;
    await setVersion('4.0.0');
    const r = await p.run(['deploy', '--auto-switch', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.stdout.endsWith('\n'), 'stdout ends with a newline');
    const lines = r.stdout.slice(0, -1).split('\n');
    const events = lines.map((line, i) => {
      try {
        return JSON.parse(line) as { event: string; time: string; [k: string]: unknown };
      } catch {
        return assert.fail(`stdout line ${i + 1} is not JSON: ${JSON.stringify(line)}`);
      }
    });
    for (const ev of events) {
      assert.equal(typeof ev.event, 'string', JSON.stringify(ev));
      assert.ok(!Number.isNaN(Date.parse(ev.time)), `a time on ${JSON.stringify(ev)}`);
    }
    const steps = events.map((ev, at) => ({ ...ev, at })).filter((ev) => ev.event === 'step') as unknown as Array<{
      index: number;
      total: number;
      title: string;
      status: string;
      at: number;
      detail?: string;
    }>;
    assert.ok(
      steps.every((s) => s.total === 8),
      'every step is one of 8',
    );
    let lastEnd = -1;
    for (let i = 1; i <= 8; i++) {
      const mine = steps.filter((s) => s.index === i);
      assert.equal(mine.length, 2, `step ${i}: one start and one end event: ${JSON.stringify(mine)}`);
      const [start, end] = mine as [(typeof mine)[0], (typeof mine)[0]];
      assert.equal(start.status, 'start');
      assert.ok(start.at > lastEnd, `step ${i} starts after step ${i - 1} ended`);
      // The example app has no database backup and is not a git checkout: steps 2 and 3 are skipped, saying why.
      assert.equal(
        end.status,
        i === 2 || i === 3 ? 'skip' : 'ok',
        `step ${i} (${start.title}): ${JSON.stringify(end)}`,
      );
      if (end.status === 'skip') assert.ok(end.detail, `step ${i} says why it was skipped`);
      assert.equal(end.title, start.title);
      lastEnd = end.at;
    }
    assert.equal(steps.find((s) => s.index === 7)!.title, `Switching traffic to ${to}`);
    const result = events.at(-1)!;
    assert.equal(result.event, 'result', 'the last event is the result');
    assert.equal(result.ok, true);
    assert.deepEqual([result.from, result.to], [from, to]);
    assert.equal(events.filter((ev) => ev.event === 'result').length, 1);
    assert.ok(!events.some((ev) => ev.event === 'error'), 'no error event');
    const s = await expectLive(to, '4.0.0', historyLen + 1, 'deploy');
    assert.equal(result.release, s.colours[to].release);
  },
);
