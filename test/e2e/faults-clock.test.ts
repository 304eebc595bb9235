/**
 * Fault matrix, row 9: the wall clock jumps (NTP step, a VM resumed, someone running `date -s`)
 * during a deploy. Every timeout must be measured on the monotonic clock, so a jump neither cuts
 * a wait short nor stretches it. The CLI runs under libfaketime (scripts/setup-infra.sh installs
 * it) with a clock file the test rewrites mid-deploy; the monotonic clock is left alone
 * (FAKETIME_DONT_FAKE_MONOTONIC). Jumps: +1 h while green's health checks wait for it to start,
 * then -2 h while blue's stop waits out stopTimeout (blue ignores SIGTERM). A wall-clock deadline
 * would give up on green at once, and would wait two hours before the SIGKILL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeProject, type Project } from '../helpers/project.ts';
import { loadOn, statusJson, waitFor, warmUp } from '../helpers/faults.ts';
import { budget } from '../helpers/budget.ts';

const LIBFAKETIME = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1',
  '/usr/lib/faketime/libfaketimeMT.so.1',
].find((f) => existsSync(f));
let p: Project;

before(async () => {
  assert.ok(LIBFAKETIME, 'libfaketime is not installed: apt-get install faketime (scripts/setup-infra.sh does)');
  p = await makeProject('fixture');
  // blue ignores SIGTERM, so stopping it waits the whole stopTimeout (2 s) and then SIGKILLs it.
  await p.setBehaviour({ version: 'v1', mode: 'ignoreSigterm' });
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}, budget(4_000));
after(async () => {
  await p?.cleanup();
}, budget(5_000));

const stepMs = (out: string, step: RegExp) => {
  const m = new RegExp(`${step.source}[^\\n]*\\((\\d+(?:\\.\\d+)?)(ms|s)\\)`).exec(out);
  assert.ok(m, `no timing for ${step} in:\n${out}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
};

test(
  'the wall clock jumps +1 h during the health wait and -2 h during the stop grace: the deploy takes its normal time',
  budget(5_600),
  async () => {
    const clock = path.join(p.dir, 'clock-offset');
    await fs.writeFile(clock, '+0\n');
    const logOf = (c: string) => path.join(p.dir, '.switchyard', 'logs', c, 'api.log');
    const blueLogBefore = (await fs.readFile(logOf('blue'), 'utf8')).length;
    await p.setBehaviour({ version: 'v2', mode: 'ok', startDelayMs: 1200 });

    const load = loadOn(p.port, { maxRequests: 40_000, maxMs: 60_000 });
    await warmUp(load);
    const t0 = performance.now();
    // Only this command runs on the fake clock (p.env is the environment p.spawn uses).
    const fake = {
      LD_PRELOAD: LIBFAKETIME!,
      FAKETIME_TIMESTAMP_FILE: clock,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
    Object.assign(p.env, fake);
    const child = p.spawn(['deploy', '--auto-switch']);
    for (const k of Object.keys(fake)) delete p.env[k];
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const closed = new Promise<number | null>((r) => child.once('close', r));
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await waitFor(
      "green's slow start",
      async () => /delaying start by 1200 ms/.test(await fs.readFile(logOf('green'), 'utf8').catch(() => '')),
      15_000,
      10,
    );
    await fs.writeFile(clock, '+3600\n'); // one hour forward, while the health checks wait
    await waitFor(
      'blue to get its SIGTERM',
      async () => (await fs.readFile(logOf('blue'), 'utf8')).slice(blueLogBefore).includes('ignoring SIGTERM'),
      20_000,
      10,
    );
    await fs.writeFile(clock, '-3600\n'); // two hours back, while the stop waits for blue
    // A wall-clock stop deadline would now be two hours away: the kill timer above bounds that.
    const code = await closed;
    clearTimeout(kill);
    const ms = performance.now() - t0;
    const totals = await load.stop();

    assert.equal(code, 0, `the deploy did not finish (killed after 30 s means a wait used the wall clock):\n${out}`);
    assert.ok(ms < 15_000, `the deploy took ${Math.round(ms)} ms`);
    assert.match(out, /\[5\/8\] Running health checks on green\.\.\. ✓/);
    const stop = stepMs(out, /\[8\/8\] Stopping blue environment\.\.\. ✓/);
    assert.ok(stop >= 1800 && stop < 6000, `stopping blue took ${stop} ms: stopTimeout is 2 s, then SIGKILL`);
    assert.equal(totals.failed, 0, JSON.stringify(totals.errors));
    assert.equal((await p.get('/api/echo')).colour, 'green');
    const st = await statusJson(p);
    assert.equal(st.code, 0, st.out);
    assert.ok(
      st.report.colours.blue.services.every((s: { running: boolean }) => !s.running),
      'blue was killed after its grace period',
    );
    // The jumps really reached the CLI: state.json's last write (after the stop) carries the fake time.
    const updatedAt = Date.parse(JSON.parse((await p.file('.switchyard/state.json'))!).updatedAt);
    assert.ok(
      updatedAt < Date.now() - 50 * 60_000,
      `state.json was written at ${new Date(updatedAt).toISOString()}, ` +
        'not an hour in the past: libfaketime did not apply',
    );
  },
);
