/** Interruptions and recovery: Ctrl-C mid-deploy, a killed proxy, the keep-warm window, down's guard. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { useProject } from '../helpers/project.ts';

const project = useProject({ before, after }, 'fixture', { init: true, proxyRestart: 'never' });

async function statusJson() {
  const r = await project().run(['status', '--json']);
  return { code: r.code, report: JSON.parse(r.stdout.trim().split('\n').at(-1)!) };
}

async function waitFor(what: string, fn: () => Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(
    `${signal === 'SIGINT' ? 'Ctrl-C (SIGINT)' : 'SIGTERM'} during a deploy stops the target, ` +
      'releases the lock and leaves blue serving',
    budget(1_900),
    async () => {
      const p = project();
      const stateBefore = await p.file('.switchyard/state.json');
      const envBefore = await p.file('.current-env');
      await p.setBehaviour({ version: 'v2', mode: 'healthHang' });
      const child = p.spawn(['deploy', '--auto-switch']);
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      await waitFor('the health step', async () => /\[4\/8\][^\n]*✓/.test(out));
      child.kill(signal);
      const code = await new Promise((r) => child.once('close', r));
      assert.equal(code, 1, out);
      assert.match(out, /interrupted: blue is still serving/);
      assert.match(out, /green stopped; blue is still serving; state\.json is unchanged/);
      assert.equal(await p.file('.switchyard/state.json'), stateBefore);
      assert.equal(await p.file('.current-env'), envBefore);
      assert.equal(await p.file('.switchyard/lock'), undefined, 'lock released');
      const { code: st, report } = await statusJson();
      assert.equal(st, 0, JSON.stringify(report.problems));
      assert.ok(report.colours.green.services.every((s: { running: boolean }) => !s.running));
      assert.equal((await p.get('/api/echo')).colour, 'blue');
      const last = (await p.file('.switchyard/history.jsonl'))!
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .at(-1);
      assert.equal(last.result, 'aborted');
      await p.setBehaviour({ version: 'v1', mode: 'ok' });
    },
  );
}

test('a killed proxy is restarted by the next command, on the colour it served', budget(400), async () => {
  const p = project();
  const pid = Number((await p.file('.switchyard/run/proxy.pid'))!.trim());
  process.kill(pid, 'SIGKILL');
  await waitFor('the proxy to die', async () =>
    p.get('/api/echo').then(
      () => false,
      () => true,
    ),
  );
  const r = await p.run(['status']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /the proxy was not running: restarted it \(pid \d+\), serving blue/);
  const res = await p.get('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, 'blue');
});

test('deploy.keepOldFor keeps the old colour warm (rollback = pure switch), then stops it', budget(4_100), async () => {
  const p = project();
  const yml = path.join(p.dir, 'switchyard.yml');
  const original = await fs.readFile(yml, 'utf8');
  await fs.writeFile(yml, original.replace('deploy:\n', 'deploy:\n  keepOldFor: 3s\n'));
  try {
    await p.setBehaviour({ version: 'v2', mode: 'ok' });
    const d = await p.run(['deploy', '--auto-switch']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.match(d.stdout, /kept warm for 3 s/);
    let { code, report } = await statusJson();
    assert.equal(code, 0, JSON.stringify(report.problems));
    assert.equal(report.colours.blue.state, 'standby');
    assert.ok(report.colours.blue.services.every((s: { running: boolean }) => s.running));

    const rb = await p.run(['rollback', '--force']);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    assert.match(rb.stdout, /already running, healthy/);
    assert.equal((await p.get('/api/echo')).colour, 'blue');

    // The first reaper finds blue live again and leaves it; a new deploy's reaper stops blue.
    const d2 = await p.run(['deploy', '--auto-switch']);
    assert.equal(d2.code, 0, d2.stdout + d2.stderr);
    await waitFor('the reaper to stop blue', async () => {
      ({ code, report } = await statusJson());
      // The reaper stops the processes, then records it: wait for both.
      return (
        report.colours.blue.state === 'stopped' &&
        report.colours.blue.services.every((s: { running: boolean }) => !s.running)
      );
    });
    assert.equal(report.active, 'green');
    assert.equal(code, 0);
  } finally {
    await fs.writeFile(yml, original);
  }
});

test('down <active colour> is refused (exit 2); down <idle colour> stops only that one', budget(1_300), async () => {
  const p = project();
  const r = await p.run(['down', 'green']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /green is the active colour/);
  assert.equal((await p.get('/api/echo')).colour, 'green');

  const d = await p.run(['deploy', '--auto-switch', '--keep-old']); // blue live, green kept running
  assert.equal(d.code, 0, d.stdout + d.stderr);
  const idle = await p.run(['down', 'green']);
  assert.equal(idle.code, 0, idle.stdout + idle.stderr);
  const { code, report } = await statusJson();
  assert.equal(code, 0, JSON.stringify(report.problems));
  assert.ok(report.colours.green.services.every((s: { running: boolean }) => !s.running));
  assert.equal(report.colours.green.state, 'stopped');
  assert.equal((await p.get('/api/echo')).colour, 'blue');
});
