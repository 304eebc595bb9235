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

let p: Project;
let stateBefore: string;
let envBefore: string;

before(async () => {
  p = await makeProject('fixture');
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  stateBefore = (await p.file('.switchyard/state.json'))!;
  envBefore = (await p.file('.current-env'))!;
});
after(async () => {
  await p.cleanup();
});

async function assertUntouched(out: string) {
  assert.equal(await p.file('.switchyard/state.json'), stateBefore, 'state.json unchanged');
  assert.equal(await p.file('.current-env'), envBefore, '.current-env unchanged');
  const res = await p.get('/api/echo');
  assert.equal(res.status, 200);
  assert.equal(res.colour, 'blue');
  assert.equal(JSON.parse(res.body).version, 'v1');
  const st = await p.run(['status', '--json']);
  const report = JSON.parse(st.stdout.trim().split('\n').at(-1)!);
  assert.ok(report.colours.green.services.every((s: { running: boolean }) => !s.running), 'green is stopped');
  assert.deepEqual(report.problems, []);
  assert.match(out, /blue is still serving; state\.json is unchanged/);
  const last = (await p.file('.switchyard/history.jsonl'))!.trim().split('\n').map((l) => JSON.parse(l)).at(-1);
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

test('new version crashes on start', () => failingDeploy({ mode: 'crash' }, /exited|crash/i));
test('health endpoint answers 500', () => failingDeploy({ mode: 'health500' }, /did not become healthy[\s\S]*500/));
test('health endpoint times out', () => failingDeploy({ mode: 'healthHang' }, /did not become healthy/));
test('a smoke step fails', () => failingDeploy({ mode: 'smokeFail' }, /smoke step "echo" failed/));

test('build command fails', async () => {
  const yml = path.join(p.dir, 'switchyard.yml');
  const original = await fs.readFile(yml, 'utf8');
  await fs.writeFile(yml, original.replace('    command: node server.mjs\n', '    command: node server.mjs\n    build: ["node", "-e", "console.log(\'compiling\'); process.exit(3)"]\n'));
  try {
    await failingDeploy({ mode: 'ok' }, /build[\s\S]*(exit|code)[\s\S]*3/i);
  } finally {
    await fs.writeFile(yml, original);
  }
});

test('the port the new colour needs is taken', async () => {
  const yml = path.join(p.dir, 'switchyard.yml');
  const original = await fs.readFile(yml, 'utf8');
  const [bluePort, greenPort] = [await freePort(), await freePort()];
  await fs.writeFile(yml, original.replace('    health: { path: /health,', `    port: { blue: ${bluePort}, green: ${greenPort} }\n    health: { path: /health,`));
  const squatter = net.createServer().listen(greenPort, '127.0.0.1');
  await new Promise((r) => squatter.once('listening', r));
  try {
    await failingDeploy({ mode: 'ok' }, new RegExp(`port ${greenPort}[\\s\\S]*in use|in use[\\s\\S]*${greenPort}`, 'i'));
  } finally {
    squatter.close();
    await fs.writeFile(yml, original);
  }
});

test('deploy killed with SIGKILL mid-way: status explains, recover converges, the next deploy succeeds', async () => {
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
  assert.equal((await p.get('/api/echo')).colour, 'blue');
  const st = await p.run(['status']);
  assert.equal(st.code, 4, st.stdout + st.stderr);
  assert.match(st.stdout, /deploy \S+ \(blue -> green[^)]*\) was interrupted: its process \(pid \d+\) is gone; last step (started|done): \[[45]\]/);
  assert.match(st.stdout, /fix: run `switchyard recover`/);

  // Without a TTY the next deploy refuses before doing anything, --force-unlock or not.
  for (const args of [['deploy', '--auto-switch'], ['deploy', '--auto-switch', '--force-unlock']]) {
    const blocked = await p.run(args);
    assert.equal(blocked.code, 4, blocked.stdout + blocked.stderr);
    assert.match(blocked.stderr, /was interrupted[\s\S]*switchyard recover/);
  }

  const rec = await p.run(['recover']);
  assert.equal(rec.code, 0, rec.stdout + rec.stderr);
  assert.match(rec.stdout, /Stopping green\.\.\. ✓/);
  assert.match(rec.stdout, /✓ Recovered: undid the deploy; blue is live/);
  assert.equal(await p.file('.switchyard/state.json'), stateBefore);
  assert.equal((await p.run(['status'])).code, 0);

  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  const next = await p.run(['deploy', '--auto-switch']);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  const res = await p.get('/api/echo');
  assert.equal(res.colour, 'green');
  assert.equal(JSON.parse(res.body).version, 'v2');
  assert.equal((await p.run(['status'])).code, 0);
});
