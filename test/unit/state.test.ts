import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { projectPaths } from '../../src/state/paths.ts';
import { activated, emptyState, readCurrentEnv, readState, writeState } from '../../src/state/state.ts';
import { acquireLock, readLock } from '../../src/state/lock.ts';
import { appendHistory, readHistory } from '../../src/state/history.ts';
import { SwitchyardError } from '../../src/errors.ts';

async function tmp() {
  return projectPaths(await fs.mkdtemp(path.join(os.tmpdir(), 'sy-state-')));
}

test('state: write is atomic-by-rename, owner-only, mirrored in .current-env', async () => {
  const p = await tmp();
  assert.equal(await readState(p), undefined);
  await writeState(p, activated(emptyState('app'), 'green', 'r9'));
  const s = await readState(p);
  assert.equal(s?.active, 'green');
  assert.equal(s?.colours.green.release, 'r9');
  assert.equal(await readCurrentEnv(p), 'green');
  assert.equal((await fs.stat(p.state)).mode & 0o777, 0o600);
  assert.deepEqual(
    (await fs.readdir(p.dir)).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('state: a corrupt or truncated state.json is an error that says so (exit 4)', async () => {
  const p = await tmp();
  await writeState(p, activated(emptyState('app'), 'blue', 'r1'));
  const text = await fs.readFile(p.state, 'utf8');
  await fs.writeFile(p.state, text.slice(0, 20));
  await assert.rejects(
    readState(p),
    (e: unknown) => e instanceof SwitchyardError && e.exitCode === 4 && /not valid JSON/.test(e.message),
  );
  await fs.writeFile(p.state, JSON.stringify({ version: 1, active: 'purple' }));
  await assert.rejects(readState(p), (e: unknown) => e instanceof SwitchyardError && e.code === 'STATE_INVALID');
});

test('lock: second taker gets exit 3 naming the owner; release frees it', async () => {
  const p = await tmp();
  const lock = await acquireLock(p, 'deploy');
  await assert.rejects(
    acquireLock(p, 'rollback'),
    (e: unknown) =>
      e instanceof SwitchyardError &&
      e.exitCode === 3 &&
      e.message.includes(`pid ${process.pid}`) &&
      e.message.includes('deploy'),
  );
  await lock.release();
  const again = await acquireLock(p, 'rollback');
  await again.release();
  assert.equal(await readLock(p), undefined);
});

test('lock: a dead owner is reported stale and only --force-unlock clears it', async () => {
  const p = await tmp();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await fs.mkdir(p.dir, { recursive: true });
  await fs.writeFile(
    p.lock,
    JSON.stringify({ pid: Number(dead), host: os.hostname(), command: 'deploy', time: 'then' }),
  );
  const view = await readLock(p);
  assert.equal(view?.alive, false);
  await assert.rejects(
    acquireLock(p, 'deploy'),
    (e: unknown) => e instanceof SwitchyardError && e.code === 'LOCK_STALE' && /--force-unlock/.test(e.hint ?? ''),
  );
  const lock = await acquireLock(p, 'deploy', { forceUnlock: true });
  assert.equal((await readLock(p))?.pid, process.pid);
  await lock.release();
});

test('lock: --force-unlock never takes a lock from a live owner', async () => {
  const p = await tmp();
  const lock = await acquireLock(p, 'deploy');
  await assert.rejects(
    acquireLock(p, 'deploy', { forceUnlock: true }),
    (e: unknown) => e instanceof SwitchyardError && e.code === 'LOCKED',
  );
  await lock.release();
});

test('history: appends redacted records; a torn last line is skipped', async () => {
  const p = await tmp();
  const rec = {
    id: '1',
    type: 'deploy' as const,
    time: 't',
    who: 'me',
    from: 'blue' as const,
    to: 'green' as const,
    release: 'r',
    result: 'failed' as const,
    reason: 'password hunter2 rejected',
    ms: 5,
  };
  await appendHistory(p, rec, (s) => s.replaceAll('hunter2', '***'));
  await fs.appendFile(p.history, '{"id":"2","ty');
  const all = await readHistory(p);
  assert.equal(all.length, 1);
  assert.equal(all[0]!.reason, 'password *** rejected');
  assert.ok(!(await fs.readFile(p.history, 'utf8')).includes('hunter2'));
});
