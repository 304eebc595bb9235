/** The read-only commands: health, smoke, logs, history, status --json. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { budget } from '../helpers/budget.ts';
import { useProject } from '../helpers/project.ts';

// restart: never, so a killed service stays down for the status check below (the supervisor's
// restarts are e2e/supervise's).
const project = useProject({ before, after }, 'fixture', { init: true, restart: 'never' });

test('health <colour>: one line per level, exit 0 only when all pass', budget(4_000), async () => {
  const p = project();
  const ok = await p.run(['health', 'blue']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  for (let level = 1; level <= 5; level++) assert.match(ok.stdout, new RegExp(`level ${level} `));
  assert.match(ok.stdout, /blue is healthy/);
  const down = await p.run(['health', 'green']);
  assert.equal(down.code, 1, down.stdout + down.stderr);
  assert.match(down.stdout, /✗ level 1 /);
  const json = await p.run(['health', 'blue', '--json']);
  const events = json.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => e.event === 'health');
  assert.equal(events.length, 5);
  assert.ok(events.every((e) => e.ok === true));
});

test('smoke <colour>: each step on its own line', budget(600), async () => {
  const r = await project().run(['smoke', 'blue']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ echo/);
  assert.match(r.stdout, /✓ page/);
});

test('logs <colour> [service] prints what the service wrote', budget(1_500), async () => {
  const p = project();
  await p.get('/api/echo');
  const r = await p.run(['logs', 'blue', 'api']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stdout.length > 0, 'the api log is not empty');
  const all = await p.run(['logs', 'blue']);
  assert.match(all.stdout, /^api \| /m);
  assert.match(all.stdout, /^web \| /m);
  const bad = await p.run(['logs', 'blue', 'nope']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /no service named "nope"/);
});

test('history lists the init', budget(400), async () => {
  const r = await project().run(['history']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /init +- -> blue +success/);
});

test(
  'a crashed service of the live colour (restart: never): status exits 4 naming it, and a deploy replaces the colour',
  budget(1_600),
  async () => {
    const p = project();
    const run = JSON.parse((await p.file('.switchyard/run/blue.json'))!);
    process.kill(run.services.api.pid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    let st = await p.run(['status']);
    while (st.code !== 4 && Date.now() < deadline) st = await p.run(['status']);
    assert.equal(st.code, 4, st.stdout + st.stderr);
    assert.match(st.stdout, /blue is active but its api is not running/);
    assert.match(st.stdout, /fix: run `switchyard deploy`/);
    const d = await p.run(['deploy', '--auto-switch']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.equal((await p.run(['status'])).code, 0);
    assert.equal((await p.get('/api/echo')).colour, 'green');
  },
);
