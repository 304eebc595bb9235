/**
 * Fault matrix, row 1: the disk fills up. A small tmpfs is the backup folder (backup.dir), and
 * another one is the project's .switchyard folder. Each command that hits ENOSPC must exit 1 with a
 * message that says the disk is full and where, leave no partial dump, lock or temp file, keep
 * state.json byte-for-byte, and the live colour must keep serving a keep-alive load without one
 * failed request. Needs root (mount); fails, never skips, without it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { projectPaths } from '../../src/state/paths.ts';
import { activated, emptyState, readState, writeState } from '../../src/state/state.ts';
import { makeProject, type Project } from '../helpers/project.ts';
import {
  assertServedBy,
  fillDisk,
  freeBytes,
  history,
  leftovers,
  loadOn,
  mountTmpfs,
  statusJson,
  unmount,
  waitFor,
  warmUp,
} from '../helpers/faults.ts';
import { budget } from '../helpers/budget.ts';

let p: Project;
let sy: string;
let small: string;
const mounts: string[] = [];

/** A dump command writing 2 MiB: four times what the 512 KiB backup disk holds. */
const DUMP = `[node, -e, "process.stdout.write(Buffer.alloc(2 * 1024 * 1024, 97))"]`;

before(async () => {
  p = await makeProject('fixture');
  sy = path.join(p.dir, '.switchyard');
  small = path.join(p.dir, 'backups-small');
  await mountTmpfs(sy, '8m');
  mounts.push(sy);
  await mountTmpfs(small, '512k');
  mounts.push(small);
  const yml = path.join(p.dir, 'switchyard.yml');
  await fs.writeFile(
    yml,
    (await fs.readFile(yml, 'utf8')) + `backup: { kind: command, dump: ${DUMP}, dir: backups-small, timeout: 20s }\n`,
  );
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}, budget(4_000));

after(async () => {
  await p?.run(['down', '--force-unlock'], { timeoutMs: 30_000 });
  for (const m of mounts.reverse()) unmount(m);
  if (p) await fs.rm(p.dir, { recursive: true, force: true });
}, budget(3_000));

/** Runs `args` under load; returns the result and the load's totals. */
async function underLoad(args: string[], opts: { during?: (out: () => string) => Promise<void> } = {}) {
  const load = loadOn(p.port, { maxRequests: 40_000, maxMs: 60_000 });
  await warmUp(load);
  const child = p.spawn(args);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const closed = new Promise<number | null>((r) => child.once('close', r));
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  await opts.during?.(() => out);
  const code = await closed;
  clearTimeout(kill);
  const totals = await load.stop();
  return { code, out, totals };
}

async function unchanged(stateBefore: string, envBefore: string, out: string) {
  assert.equal(await p.file('.switchyard/state.json'), stateBefore, `state.json changed\n${out}`);
  assert.equal(await p.file('.current-env'), envBefore, `.current-env changed\n${out}`);
  assert.ok(await readState(projectPaths(p.dir)), 'state.json still parses');
  assert.deepEqual(await leftovers(sy), [], 'no temp file left in .switchyard');
  assert.equal(await p.file('.switchyard/lock'), undefined, 'no lock left behind');
}

test(
  'backup folder on a full disk: deploy and backup exit 1 naming the folder, no partial dump, blue serves',
  budget(4_000),
  async () => {
    const stateBefore = (await p.file('.switchyard/state.json'))!;
    const envBefore = (await p.file('.current-env'))!;
    await p.setBehaviour({ version: 'v2', mode: 'ok' });
    const { code, out, totals } = await underLoad(['deploy', '--auto-switch']);
    assert.equal(code, 1, out);
    assert.match(out, /\[2\/8\] Backing up database\.\.\. ✗/);
    assert.match(
      out,
      new RegExp(
        `database backup failed: the disk holding ${small} is full ` +
          '\\(no space left on device \\(ENOSPC\\)\\); the partial dump was removed',
      ),
    );
    assert.match(
      out,
      new RegExp(
        `hint: free space there \\(see \`df -h ${small}\`\\) or point backup\\.dir at a disk with room for a dump`,
      ),
    );
    assert.doesNotMatch(out, /\[4\/8\]/, 'nothing was built or started after the failed backup');
    assert.doesNotMatch(out, /internal error|please report/);
    assertServedBy(totals, 'blue', 'deploy with a full backup disk');
    assert.deepEqual(await fs.readdir(small), [], 'no partial dump and no sidecar in the backup folder');
    await unchanged(stateBefore, envBefore, out);
    assert.equal((await history(p)).at(-1)?.result, 'failed');

    const manual = await p.run(['backup']);
    assert.equal(manual.code, 1, manual.stdout + manual.stderr);
    assert.match(manual.stderr, /the disk holding .*backups-small is full/);
    assert.deepEqual(await fs.readdir(small), []);
    const listed = await p.run(['backups', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.doesNotMatch(listed.stdout, /db-backup-/, 'no backup is listed');
  },
);

test(
  '.switchyard on a full disk: deploy and switch exit 1 naming the file; ' +
    'no lock, temp file or state change; blue serves',
  budget(5_300),
  async () => {
    const stateBefore = (await p.file('.switchyard/state.json'))!;
    const envBefore = (await p.file('.current-env'))!;
    const filler = await fillDisk(sy);
    try {
      assert.ok((await freeBytes(sy)) < 4096, 'the disk is full');
      await p.setBehaviour({ version: 'v2', mode: 'ok' });
      for (const args of [
        ['deploy', '--auto-switch', '--skip-backup'],
        ['switch', 'blue'],
      ]) {
        const { code, out, totals } = await underLoad(args);
        assert.equal(code, 1, `${args[0]}: ${out}`);
        assert.match(out, new RegExp(`the disk is full: no space left on device \\(ENOSPC\\) writing ${sy}/lock`), out);
        assert.match(out, new RegExp(`hint: free space on the disk that holds ${sy} \\(see \`df -h ${sy}\`\\)`));
        assert.doesNotMatch(out, /internal error|please report/);
        assertServedBy(totals, 'blue', `${args[0]} on a full disk`);
        await unchanged(stateBefore, envBefore, out);
      }
      // Reading needs no space: status still explains the world.
      const st = await statusJson(p);
      assert.equal(st.code, 0, st.out);
      assert.equal(st.report.active, 'blue');
    } finally {
      await fs.rm(filler, { force: true });
    }
    // With space again, nothing needs repairing: the next deploy just works.
    const next = await p.run(['deploy', '--auto-switch', '--skip-backup']);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.equal((await p.get('/api/echo')).colour, 'green');
  },
);

test(
  '.switchyard fills up during a deploy: it stops before traffic moves, state.json is unchanged, green serves',
  budget(4_900),
  async () => {
    const stateBefore = (await p.file('.switchyard/state.json'))!;
    const envBefore = (await p.file('.current-env'))!;
    assert.equal(envBefore.trim(), 'green');
    // blue starts slowly, so the health step lasts ~1.5 s: the disk fills while it runs.
    await p.setBehaviour({ version: 'v3', mode: 'ok', startDelayMs: 1500 });
    let filler = '';
    const { code, out, totals } = await underLoad(['deploy', '--auto-switch', '--skip-backup'], {
      during: async (text) => {
        await waitFor('the health step', () => /\[5\/8\] Running health checks/.test(text()), 20_000, 10);
        filler = await fillDisk(sy);
      },
    });
    try {
      assert.equal(code, 1, out);
      // Which write meets the full disk first depends on timing (a step's journal entry, or the
      // proxy's snapshot at the switch); either way the message says the disk is full and where.
      assert.match(
        out,
        new RegExp(
          `the disk is full: no space left on device \\(ENOSPC\\) writing ${sy}/|` +
            `the proxy could not save its state in ${sy}: ` +
            'the disk is full \\(ENOSPC: no space left on device.*it kept routing as before',
        ),
        out,
      );
      assert.match(out, new RegExp(`hint: free space on the disk that holds ${sy}`));
      assert.doesNotMatch(out, /\[8\/8\]|internal error|please report/);
      assertServedBy(totals, 'green', 'a deploy whose disk filled up mid-way');
      await unchanged(stateBefore, envBefore, out);
      const proxyState = JSON.parse((await p.file('.switchyard/proxy.json'))!);
      assert.equal(proxyState.active, 'green', 'the proxy snapshot is intact and still says green');
    } finally {
      if (filler) await fs.rm(filler, { force: true });
    }
    // Space is back: the next deploy recovers (whatever the failed one left running is replaced).
    await p.setBehaviour({ version: 'v3', mode: 'ok' });
    const next = await p.run(['deploy', '--auto-switch', '--skip-backup']);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.equal((await p.get('/api/echo')).colour, 'blue');
    const st = await statusJson(p);
    assert.equal(st.code, 0, JSON.stringify(st.report.problems));
  },
);

test('state.json written on a full disk: the old file stays whole and no temp file is left', budget(100), async () => {
  const dir = path.join(p.dir, 'tiny');
  await mountTmpfs(dir, '64k');
  mounts.push(dir);
  const paths = projectPaths(dir);
  await writeState(paths, activated(emptyState('app'), 'blue', 'r1'));
  const before = await fs.readFile(paths.state, 'utf8');
  await fillDisk(dir);
  await assert.rejects(
    writeState(paths, activated(JSON.parse(before), 'green', 'r2')),
    (e: NodeJS.ErrnoException) => e.code === 'ENOSPC' && e.path === paths.state,
  );
  assert.equal(await fs.readFile(paths.state, 'utf8'), before, 'state.json is the old one, whole');
  assert.equal((await fs.readFile(paths.currentEnv, 'utf8')).trim(), 'blue');
  assert.deepEqual(await leftovers(dir), []);
});
