/**
 * Paused copytruncate (util/log-rotate.ts) against a real writer: a detached process that appends
 * numbered lines to its stdout (a log opened O_APPEND, as a service's is) as fast as it can while
 * the log is rotated again and again. Every line is then found exactly once, whole and in order,
 * across the rotated files and the live one; a follower (util/log-read.ts, what `logs -f` uses)
 * reading during the whole run sees every line once too; and `keep` bounds the files. Failure
 * paths: a rotation that fails once the writer is stopped continues it and leaves the live log
 * whole; a supervisor starting after one that died mid-pause continues the writer it left stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readAll, readNew, rotatedFiles } from '../../src/util/log-read.ts';
import { rotateIfNeeded } from '../../src/util/log-rotate.ts';
import { processState, readStartTicks } from '../../src/util/procinfo.ts';
import { logKeeper } from '../../src/run/log-keeper.ts';
import { writeRun } from '../../src/runtime/process/runfile.ts';
import { projectPaths } from '../../src/state/paths.ts';
import { budget } from '../helpers/budget.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A writer of `lines` numbered lines (about 100 bytes each) to `file`, in its own process group. */
function writer(file: string, lines: number) {
  const fd = fs.openSync(file, 'a', 0o600);
  const script =
    "const fs = require('node:fs'); const pad = 'x'.repeat(88); let n = 0; const N = Number(process.argv[1]);" +
    'const tick = () => { let b = ""; for (let i = 0; i < 200 && n < N; i++) b += `line ${++n} ${pad}\\n`;' +
    ' fs.writeSync(1, b); if (n < N) setTimeout(tick, 0); }; tick();';
  const child = spawn(process.execPath, ['-e', script, String(lines)], {
    stdio: ['ignore', fd, 'ignore'],
    detached: true,
  });
  fs.closeSync(fd);
  let running = true;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running = false;
      resolve(code);
    }),
  );
  /** Runs `each` again and again, `pauseMs` apart, until the writer has exited. */
  const during = async (each: () => Promise<void>, pauseMs: number) => {
    try {
      while (running) {
        await each();
        await sleep(pauseMs);
      }
    } catch (e) {
      process.kill(-child.pid!, 'SIGKILL'); // a writer left stopped would keep the test process alive
      throw e;
    }
  };
  return { pid: child.pid!, exited, during };
}

/** A temp folder for one test, removed after it. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-logrotate-'));
  try {
    await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function assertAllLines(text: string, lines: number, what: string): void {
  const got = text.split('\n').filter((l) => l !== '');
  assert.equal(got.length, lines, `${what}: ${got.length} lines, not ${lines}`);
  got.forEach((l, i) => {
    if (!l.startsWith(`line ${i + 1} `) || l.length !== `line ${i + 1} `.length + 88)
      assert.fail(`${what}: line ${i + 1} is ${JSON.stringify(l.slice(0, 40))}`);
  });
}

test(
  'a log rotated over and over under a fast writer: every line kept once, whole and in order; a follower sees them all',
  budget(8_000),
  async (t) =>
    inTempDir(async (dir) => {
      const file = path.join(dir, 'api.log');
      const lines = 300_000; // about 30 MB
      const w = writer(file, lines);
      let follow = readAll(file).follow;
      let followed = '';
      const notes: string[] = [];
      let rotations = 0;
      let maxPause = 0;
      await w.during(async () => {
        const r = await rotateIfNeeded(file, { maxSize: 1024 * 1024, keep: 1000, writerGroup: w.pid });
        if (r) {
          rotations++;
          maxPause = Math.max(maxPause, r.pausedMs);
        }
        const next = readNew(file, follow);
        followed += next.text;
        if (next.note) notes.push(next.note);
        follow = next.follow;
      }, 5);
      assert.equal(await w.exited, 0);
      followed += readNew(file, follow).text;
      t.diagnostic(`${rotations} rotations, longest pause of the writer ${maxPause} ms`);
      assert.ok(rotations >= 10, `rotated ${rotations} times`);
      assert.deepEqual(notes, []);
      assertAllLines(readAll(file).text, lines, 'the files');
      assertAllLines(followed, lines, 'the follower');
      for (const f of rotatedFiles(file)) assert.ok(fs.statSync(f).size <= 1024 * 1024, `${f} is at most maxSize`);
    }),
);

test('keep bounds the rotated files; the newest lines are the ones kept', budget(3_000), () =>
  inTempDir(async (dir) => {
    const file = path.join(dir, 'web.log');
    const lines = 100_000; // about 10 MB
    const w = writer(file, lines);
    let most = 0;
    await w.during(async () => {
      await rotateIfNeeded(file, { maxSize: 256 * 1024, keep: 3, writerGroup: w.pid });
      const total = [file, ...rotatedFiles(file)].reduce((n, f) => n + fs.statSync(f).size, 0);
      most = Math.max(most, total);
    }, 2);
    await rotateIfNeeded(file, { maxSize: 256 * 1024, keep: 3, writerGroup: w.pid });
    assert.deepEqual(
      rotatedFiles(file).map((f) => path.basename(f)),
      ['web.log.3', 'web.log.2', 'web.log.1'],
    );
    const kept = readAll(file)
      .text.split('\n')
      .filter((l) => l !== '');
    // What is kept is the end of the stream, without a gap.
    assert.ok(kept.at(-1)!.startsWith(`line ${lines} `));
    const first = Number(kept[0]!.split(' ')[1]);
    for (const [i, l] of kept.entries()) assert.ok(l.startsWith(`line ${first + i} `), l.slice(0, 30));
    assert.ok(most < 10 * 1024 * 1024, `the files never held everything (at most ${most} bytes)`);
  }),
);

test(
  'a rotation that fails once the writer is stopped: the writer is continued, the live log keeps every line',
  budget(3_000),
  () =>
    inTempDir(async (dir) => {
      const file = path.join(dir, 'api.log');
      // api.log.2 is a folder: shifting the rotated files fails after SIGSTOP, before any truncate.
      fs.mkdirSync(`${file}.2`);
      fs.writeFileSync(path.join(`${file}.2`, 'in-the-way'), '');
      fs.writeFileSync(`${file}.1`, '');
      const lines = 50_000;
      const w = writer(file, lines);
      let failures = 0;
      await w.during(async () => {
        await rotateIfNeeded(file, { maxSize: 256 * 1024, keep: 2, writerGroup: w.pid }).catch(() => failures++);
        // Never left stopped: it runs on (or has just exited) after each failed attempt.
        assert.ok(!'Tt'.includes((await processState(w.pid)) ?? 'x'), 'the writer is not left stopped');
      }, 2);
      assert.equal(await w.exited, 0);
      assert.ok(failures > 0, 'the rotation really failed');
      assertAllLines(fs.readFileSync(file, 'utf8'), lines, 'the live log');
      assert.deepEqual(
        fs.readdirSync(dir).filter((f) => f.includes('.rotating-')),
        [],
        'no piece left behind',
      );
    }),
);

test('a supervisor starting after one that died mid-pause continues the writer it left stopped', budget(1_000), () =>
  inTempDir(async (root) => {
    const paths = projectPaths(root);
    const child = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
    const pid = child.pid!;
    try {
      await writeRun(paths, {
        colour: 'blue',
        release: 'r1',
        services: { api: { pid, port: 1, startedAt: new Date().toISOString(), startTicks: await readStartTicks(pid) } },
      });
      process.kill(-pid, 'SIGSTOP'); // what a supervisor killed during a rotation leaves
      const deadline = performance.now() + 5_000;
      while (!'Tt'.includes((await processState(pid)) ?? 'x') && performance.now() < deadline) await sleep(5);
      assert.ok('Tt'.includes((await processState(pid)) ?? 'x'), 'stopped');
      const keeper = logKeeper(root, { engine: async () => undefined }, { log: () => {} });
      await keeper.start();
      await keeper.stop();
      assert.ok(!'Tt'.includes((await processState(pid)) ?? 'x'), 'continued');
    } finally {
      process.kill(-pid, 'SIGKILL');
    }
  }),
);

test('a log below maxSize, or missing, is left alone', budget(500), () =>
  inTempDir(async (dir) => {
    const file = path.join(dir, 'small.log');
    assert.equal(await rotateIfNeeded(file, { maxSize: 100, keep: 2 }), undefined);
    fs.writeFileSync(file, 'one\ntwo\n');
    assert.equal(await rotateIfNeeded(file, { maxSize: 100, keep: 2 }), undefined);
    assert.equal(fs.readFileSync(file, 'utf8'), 'one\ntwo\n');
    assert.deepEqual(rotatedFiles(file), []);
  }),
);

test(
  'a follower behind by several rotations reads them all, in order; one behind by more than keep is told',
  budget(500),
  () =>
    inTempDir(async (dir) => {
      const file = path.join(dir, 'api.log');
      let n = 0;
      const write = (lines: number) => {
        let b = '';
        for (let i = 0; i < lines; i++) b += `line ${++n} ${'x'.repeat(88)}\n`;
        fs.appendFileSync(file, b);
      };
      write(10);
      const start = readAll(file).follow;
      for (let r = 0; r < 4; r++) {
        write(300); // about 30 KB: a rotation into 3 pieces of at most 10 KB each
        assert.ok(await rotateIfNeeded(file, { maxSize: 10 * 1024, keep: 20 }));
      }
      write(7);
      const got = readNew(file, start);
      assert.equal(got.note, undefined);
      const lines = got.text.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, n - 10);
      for (const [i, l] of lines.entries()) assert.ok(l.startsWith(`line ${11 + i} `), l.slice(0, 20));

      // keep: 2 cannot hold what the follower missed: it says so rather than print a gap silently.
      const behind = readAll(file).follow;
      for (let r = 0; r < 3; r++) {
        write(300);
        await rotateIfNeeded(file, { maxSize: 10 * 1024, keep: 2 });
      }
      assert.match(readNew(file, behind).note ?? '', /rotated away before they could be read \(logs\.keep\)/);
    }),
);
