/**
 * Failure paths before the switch (I2): each leaves blue serving, state.json and .current-env
 * byte-for-byte unchanged, and green stopped; the reason is printed and the exit code is 1.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { makeProject, freePort, type Project } from '../helpers/project.ts';
import { budget } from '../helpers/budget.ts';

let p: Project;
let stateBefore: string;
let envBefore: string;

before(async () => {
  p = await makeProject('fixture');
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  stateBefore = (await p.file('.switchyard/state.json'))!;
  envBefore = (await p.file('.current-env'))!;
}, budget(4_000));
after(async () => {
  await p.cleanup();
}, budget(3_000));

async function assertUntouched(out: string) {
  assert.equal(await p.file('.switchyard/state.json'), stateBefore, 'state.json unchanged');
  assert.equal(await p.file('.current-env'), envBefore, '.current-env unchanged');
  const res = await p.get('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, 'blue');
  assert.equal(JSON.parse(res.body).version, 'v1');
  const st = await p.run(['status', '--json']);
  const report = JSON.parse(st.stdout.trim().split('\n').at(-1)!);
  assert.ok(
    report.colours.green.services.every((s: { running: boolean }) => !s.running),
    'green is stopped',
  );
  assert.deepEqual(report.problems, []);
  assert.match(out, /blue is still serving; state\.json is unchanged/);
  const last = (await p.file('.switchyard/history.jsonl'))!
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .at(-1);
  assert.equal(last.result, 'failed');
}

async function failingDeploy(behaviour: Record<string, unknown>, reason: RegExp, extra: string[] = []) {
  await p.setBehaviour({ version: 'v2', ...behaviour });
  const r = await p.run(['deploy', '--auto-switch', ...extra]);
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 1, out);
  assert.match(out, reason);
  await assertUntouched(out);
  await p.setBehaviour({ version: 'v1', mode: 'ok' });
}

test('new version crashes on start', budget(5_000), () => failingDeploy({ mode: 'crash' }, /exited|crash/i));
// Both services of the fixture run the same app, so either may be the first to be found gone.
test('new version crashes after the start grace: the health failure shows its last lines', budget(6_800), () =>
  failingDeploy(
    { mode: 'health500', crashAfterMs: 500 },
    new RegExp(
      [
        String.raw`did not become healthy[\s\S]*last lines of (api|web) \(green\):`,
        // Only what its last start printed: the header of that start, then the app's own lines.
        String.raw` {2}\| --- switchyard: start \1 as green, release \S+, port \d+: [^\n]*`,
        String.raw` {2}\| fixture v2 \(health500\) as green listening [^\n]*`,
        String.raw` {2}\| fixture v2: crashing 500 ms after listening`,
      ].join('\n'),
    ),
  ),
);
test('health endpoint answers 500', budget(6_800), () =>
  failingDeploy({ mode: 'health500' }, /did not become healthy[\s\S]*500/),
);
test('health endpoint times out', budget(6_200), () => failingDeploy({ mode: 'healthHang' }, /did not become healthy/));
test('a smoke step fails', budget(1_100), () => failingDeploy({ mode: 'smokeFail' }, /smoke step "echo" failed/));

test(
  'the new colour passes its checks directly but fails through the proxy: switched back by itself',
  budget(4_200),
  async () => {
    await p.setBehaviour({ version: 'v2', mode: 'proxyFail' });
    const r = await p.run(['deploy', '--auto-switch']);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    // Health and smoke passed (they hit green directly); only the verification through the proxy failed.
    assert.match(r.stdout, /\[5\/8\] Running health checks on green\.\.\. ✓/);
    assert.match(r.stdout, /\[6\/8\] Running smoke tests on green\.\.\. ✓ [^\n]*steps passed/);
    assert.match(r.stdout, /\[7\/8\] Switching traffic to green\.\.\. ✗/);
    assert.doesNotMatch(r.stdout, /\[8\/8\]/);
    assert.match(out, /traffic moved to green but it did not answer through the proxy; switched back to blue/);
    assert.match(out, /did not answer from green[^\n]*last: HTTP 500 from green/);
    await assertUntouched(out);
    const last = (await p.file('.switchyard/history.jsonl'))!
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .at(-1);
    assert.equal(last.type, 'deploy');
    assert.equal(last.to, 'green');
    assert.match(last.reason, /did not answer through the proxy/);
    await p.setBehaviour({ version: 'v1', mode: 'ok' });
  },
);

test('build command fails', budget(900), async () => {
  const yml = path.join(p.dir, 'switchyard.yml');
  const original = await fs.readFile(yml, 'utf8');
  await fs.writeFile(
    yml,
    original.replace(
      '    command: node server.mjs\n',
      '    command: node server.mjs\n    build: ["node", "-e", "console.log(\'compiling\'); process.exit(3)"]\n',
    ),
  );
  try {
    await failingDeploy({ mode: 'ok' }, /build[\s\S]*(exit|code)[\s\S]*3/i);
  } finally {
    await fs.writeFile(yml, original);
  }
});

test('the port the new colour needs is taken', budget(600), async () => {
  const yml = path.join(p.dir, 'switchyard.yml');
  const original = await fs.readFile(yml, 'utf8');
  const [bluePort, greenPort] = [await freePort(), await freePort()];
  await fs.writeFile(
    yml,
    original.replace(
      '    health: { path: /health,',
      `    port: { blue: ${bluePort}, green: ${greenPort} }\n    health: { path: /health,`,
    ),
  );
  const squatter = net.createServer().listen(greenPort, '127.0.0.1');
  await new Promise((r) => squatter.once('listening', r));
  try {
    await failingDeploy(
      { mode: 'ok' },
      new RegExp(`port ${greenPort}[\\s\\S]*in use|in use[\\s\\S]*${greenPort}`, 'i'),
    );
  } finally {
    squatter.close();
    await fs.writeFile(yml, original);
  }
});

test(
  'switch <colour> refuses a running colour that is not healthy (exit 1, nothing changes) unless --force',
  budget(15_700),
  async () => {
    // Its own project: this test moves traffic, the others compare against the first init's state.
    const q = await makeProject('fixture');
    try {
      const init = await q.run(['init']);
      assert.equal(init.code, 0, init.stdout + init.stderr);
      // green: v2, healthy until the marker file exists; then make blue live again with green kept running.
      const sick = path.join(q.dir, 'green-is-sick');
      await q.setBehaviour({ version: 'v2', mode: 'ok', healthFailFile: sick });
      const d = await q.run(['deploy', '--auto-switch', '--keep-old']);
      assert.equal(d.code, 0, d.stdout + d.stderr);
      const back = await q.run(['switch', 'blue']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
      const running = async () => {
        const st = await q.run(['status', '--json']);
        const report = JSON.parse(st.stdout.trim().split('\n').at(-1)!);
        return {
          blue: report.colours.blue.services.every((s: { running: boolean }) => s.running),
          green: report.colours.green.services.every((s: { running: boolean }) => s.running),
          report,
        };
      };
      assert.deepEqual(await running().then(({ blue, green }) => ({ blue, green })), { blue: true, green: true });
      await fs.writeFile(sick, 'sick\n');

      const state0 = await q.file('.switchyard/state.json');
      const env0 = await q.file('.current-env');
      const historyLen = (await q.file('.switchyard/history.jsonl'))!.trim().split('\n').length;
      const refused = await q.run(['switch', 'green']);
      const out = refused.stdout + refused.stderr;
      assert.equal(refused.code, 1, out);
      assert.match(refused.stdout, /\[1\/3\] Checking green\.\.\. ✗/);
      assert.doesNotMatch(refused.stdout, /\[2\/3\]/, 'never reached the switch step');
      assert.match(out, /green did not become healthy/);
      assert.equal(await q.file('.switchyard/state.json'), state0, 'state.json unchanged');
      assert.equal(await q.file('.current-env'), env0, '.current-env unchanged');
      for (let i = 0; i < 5; i++) {
        const res = await q.get('/api/echo');
        assert.equal(res.status, 200);
        assert.equal(res.colour, 'blue', 'traffic stayed on blue');
        assert.equal(JSON.parse(res.body).version, 'v1');
      }
      const history = (await q.file('.switchyard/history.jsonl'))!
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(history.length, historyLen + 1);
      assert.deepEqual([history.at(-1).type, history.at(-1).to, history.at(-1).result], ['switch', 'green', 'failed']);
      assert.equal((await running()).green, true, 'a refused switch leaves green running as it was');

      const forced = await q.run(['switch', 'green', '--force']);
      assert.equal(forced.code, 0, forced.stdout + forced.stderr);
      assert.match(forced.stdout, /\[1\/3\] Checking green\.\.\. ✗[^\n]*continuing: --force/);
      assert.match(forced.stdout, /\[2\/3\] Switching traffic to green\.\.\. ✓/);
      assert.match(forced.stdout, /✓ green is live/);
      const res = await q.get('/api/echo');
      assert.equal(res.colour, 'green');
      assert.equal(JSON.parse(res.body).version, 'v2');
      assert.equal((await q.file('.current-env'))?.trim(), 'green');
      const state = JSON.parse((await q.file('.switchyard/state.json'))!);
      assert.equal(state.active, 'green');
      assert.equal(state.colours.green.status, 'live');
      const last = (await q.file('.switchyard/history.jsonl'))!
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .at(-1);
      assert.deepEqual([last.type, last.to, last.result, last.flags], ['switch', 'green', 'success', ['force']]);
    } finally {
      await q.cleanup();
    }
  },
);

test(
  'deploy killed with SIGKILL mid-way: status explains, the next deploy --recover undoes it and succeeds',
  budget(2_400),
  async () => {
    await p.setBehaviour({ version: 'v2', mode: 'healthHang' });
    const child = p.spawn(['deploy', '--auto-switch']);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    // Wait until it is inside the health step (green started), then kill it without warning.
    const deadline = Date.now() + 20_000;
    while (!/\[4\/8\][^\n]*✓/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /\[4\/8\][^\n]*✓/);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));

    assert.equal(await p.file('.switchyard/state.json'), stateBefore);
    assert.equal(await p.file('.current-env'), envBefore, '.current-env unchanged by the killed deploy');
    assert.equal((await p.get('/api/echo')).colour, 'blue');
    const st = await p.run(['status']);
    assert.equal(st.code, 4, st.stdout + st.stderr);
    assert.match(
      st.stdout,
      new RegExp(
        'deploy \\S+ \\(blue -> green[^)]*\\) was interrupted: ' +
          'its process \\(pid \\d+\\) is gone; last step (started|done): \\[[45]\\]',
      ),
    );
    assert.match(st.stdout, /fix: run `switchyard recover`/);

    // Without a TTY the next deploy refuses before doing anything, --force-unlock or not.
    for (const args of [
      ['deploy', '--auto-switch'],
      ['deploy', '--auto-switch', '--force-unlock'],
    ]) {
      const blocked = await p.run(args);
      assert.equal(blocked.code, 4, blocked.stdout + blocked.stderr);
      assert.match(blocked.stderr, /was interrupted[\s\S]*switchyard recover/);
    }

    // --recover undoes the interrupted deploy first (no TTY needed), then deploys.
    await p.setBehaviour({ version: 'v2', mode: 'ok' });
    const next = await p.run(['deploy', '--auto-switch', '--recover']);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.match(next.stdout, /was interrupted/);
    assert.match(next.stdout, /✓ Recovered: undid the deploy; blue is live/);
    assert.match(next.stdout, /✓ Deployment complete: green is live/);
    const res = await p.get('/api/echo');
    assert.equal(res.colour, 'green');
    assert.equal(JSON.parse(res.body).version, 'v2');
    assert.equal((await p.file('.current-env'))?.trim(), 'green');
    assert.equal(JSON.parse((await p.file('.switchyard/state.json'))!).active, 'green');
    assert.equal((await p.run(['status'])).code, 0);
  },
);
