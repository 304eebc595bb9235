/**
 * `switchyard up` after a simulated reboot (issue 12, part 4): every process of the project is
 * SIGKILLed (the apps, the proxy daemon, the supervisor), then `up` brings back the recorded colour
 * and release behind the built-in proxy, with state.json and .current-env byte for byte unchanged;
 * once the proxy answers, users get 503 (maintenance) until the colour passed its health checks,
 * never a 502. A second `up` has nothing to do. Real processes, the real built-in proxy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { makeProject, type Project } from '../helpers/project.ts';
import { pollStatuses, reboot as rebootProject, runs } from '../helpers/reboot.ts';

let p: Project;
before(async () => {
  p = await makeProject('fixture');
  const r = await p.run(['init', '--skip-tests']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}, budget(3_000));
after(async () => {
  await p?.cleanup();
}, budget(3_000));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readPid = async (rel: string) => Number((await p.file(rel))?.trim().split(/\s+/)[0]);
const reboot = () => rebootProject(p.dir);

/** Polls /api/echo every 10 ms (bounded) and keeps each answer's status (0: no connection). */
function poll(maxMs: number) {
  return pollStatuses(() => p.get('/api/echo').then((r) => r.status), maxMs);
}

test(
  'a simulated reboot, then up: the recorded colour and release serve again, 503 (not 502) meanwhile, state untouched',
  budget(8_000),
  async () => {
    const state = await p.file('.switchyard/state.json');
    const currentEnv = await p.file('.current-env');
    const release = JSON.parse(state!).colours.blue.release as string;
    await reboot();
    const polling = poll(20_000);
    const r = await p.run(['up']);
    await sleep(100);
    const seen = runs(await polling.stop());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Starting blue \(live\)\.\.\. ✓ .*503 \(maintenance\) while it started/);
    assert.match(r.stdout, /✓ Up: started the proxy; started blue; blue serves release /);
    console.log(`# statuses seen through the public port during up: ${seen}`);
    assert.match(seen, /^(0 )?(503 )?200$/, `refused before the proxy runs, then 503 (never 502), then 200: ${seen}`);
    const res = await p.get('/api/echo');
    assert.equal(res.colour, 'blue');
    assert.equal((await p.run(['status', '--json'])).code, 0);
    assert.equal(JSON.parse((await p.file('.switchyard/run/blue.json'))!).release, release);
    assert.equal(await p.file('.switchyard/state.json'), state, 'state.json byte for byte');
    assert.equal(await p.file('.current-env'), currentEnv, '.current-env byte for byte');

    const again = await p.run(['up']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /✓ Nothing to do: blue serves release /);
    assert.equal(await p.file('.switchyard/state.json'), state);
  },
);

test('a warm colour (deploy --keep-old) comes back too; a stopped one does not', budget(8_000), async () => {
  const d = await p.run(['deploy', '--auto-switch', '--skip-tests', '--keep-old']);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  await reboot();
  const r = await p.run(['up']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /Starting green \(live\)\.\.\. ✓/);
  assert.match(r.stdout, /Starting blue\.\.\. ✓/);
  const st = JSON.parse((await p.run(['status', '--json'])).stdout.trim().split('\n').pop()!);
  assert.deepEqual(
    ['blue', 'green'].map((c) => st.colours[c].services.every((s: { running: boolean }) => s.running)),
    [true, true],
  );
  assert.equal((await p.get('/api/echo')).colour, 'green');
  const down = await p.run(['down', 'blue']);
  assert.equal(down.code, 0, down.stdout + down.stderr);
  await reboot();
  const r2 = await p.run(['up']);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /Starting blue\.\.\. – .*stopped: only a warm colour is started/);
});

test(
  'a recorded release folder that is gone: exit 1 naming the release and the fix; state untouched',
  budget(6_000),
  async () => {
    const state = await p.file('.switchyard/state.json');
    const release = JSON.parse(state!).colours.green.release as string;
    await reboot();
    await fs.rm(path.join(p.dir, '.switchyard', 'releases', release), { recursive: true });
    const r = await p.run(['up']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`release ${release} of green is no longer on disk`));
    assert.match(r.stderr, /switchyard deploy/);
    assert.equal(await p.file('.switchyard/state.json'), state);
    const res = await p.get('/api/echo').catch(() => undefined);
    assert.notEqual(res?.status, 200);
    // The page it served while trying is off again: a later fix (a deploy) must not stay behind it.
    const st = JSON.parse((await p.run(['status', '--json'])).stdout.trim().split('\n').pop()!);
    assert.equal(st.proxy.maintenance, null);
    const plan = await p.run(['up', '--plan']);
    assert.equal(plan.code, 0);
    assert.match(plan.stdout, /Plan for up: .* -> green/);
  },
);

test(
  'up --foreground stays as the supervisor: it restarts a killed service; SIGTERM ends it, the services keep running',
  budget(8_000),
  async () => {
    const d = await p.run(['deploy', '--auto-switch', '--skip-tests']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const child = p.spawn(['up', '--foreground']);
    let out = '';
    child.stdout!.on('data', (b) => (out += b));
    child.stderr!.on('data', (b) => (out += b));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const deadline = performance.now() + 10_000;
    while (!/in the foreground/.test(out) && performance.now() < deadline) await sleep(20);
    assert.match(out, /supervising .* in the foreground/, out);
    while ((await readPid('.switchyard/run/supervisor.pid')) !== child.pid && performance.now() < deadline)
      await sleep(20);
    assert.equal(await readPid('.switchyard/run/supervisor.pid'), child.pid, 'this process is the supervisor');
    const live = JSON.parse((await p.file('.switchyard/state.json'))!).active as string;
    const api = () =>
      JSON.parse(readFileSync(path.join(p.dir, `.switchyard/run/${live}.json`), 'utf8')).services.api.pid;
    const before = api();
    process.kill(before, 'SIGKILL');
    while (api() === before && performance.now() < deadline) await sleep(20);
    assert.notEqual(api(), before, 'restarted by the foreground supervisor');
    // The run file names the new process as soon as it is spawned: wait (bounded) until it serves.
    const serving = async () => (await p.get('/api/echo').catch(() => undefined))?.status === 200;
    while (!(await serving()) && performance.now() < deadline) await sleep(20);
    assert.ok(await serving(), 'the restarted api serves');
    child.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.equal((await p.get('/api/echo')).status, 200, 'the services keep running');
  },
);

test('after down, up has nothing to bring up', budget(4_000), async () => {
  const down = await p.run(['down']);
  assert.equal(down.code, 0, down.stdout + down.stderr);
  const r = await p.run(['up']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /no colour is live \(after `down`\): nothing to bring up/);
  assert.match(r.stdout, /✓ Nothing to do: no colour is live/);
});
