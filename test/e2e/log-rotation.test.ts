/**
 * Bounded logs (issue 12, part 6), end to end with the defaults (logs.maxSize 10m, keep 5): the live
 * api writes 100 MB of numbered lines while `switchyard logs -f` follows it. The supervisor rotates
 * the log as it grows: the disk it takes stays under maxSize x (keep + 1) whenever it is looked at,
 * the app is never restarted, and the follower prints every line exactly once and in order, across
 * all the rotations (the files keep only the newest 60 MB; the follower proves none went missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { makeProject } from '../helpers/project.ts';

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test(
  'an app writing 100 MB: the log stays under maxSize x (keep + 1), logs -f shows every line once, no restart',
  budget(20_000),
  async (t) => {
    const p = await makeProject('fixture');
    try {
      const yml = path.join(p.dir, 'switchyard.yml');
      const text = fs.readFileSync(yml, 'utf8');
      const api = '  api:\n    cwd: .\n    command: node server.mjs\n';
      assert.ok(text.includes(api));
      fs.writeFileSync(yml, text.replace(api, `${api}    env: { FLOOD_MB: "100", FLOOD_MB_PER_S: "10" }\n`));
      const r = await p.run(['init', '--skip-tests']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const log = path.join(p.dir, '.switchyard', 'logs', 'blue', 'api.log');
      const pidOf = () =>
        JSON.parse(fs.readFileSync(path.join(p.dir, '.switchyard/run/blue.json'), 'utf8')).services.api.pid;
      const pid = pidOf();

      const follower = p.spawn(['logs', '-f', 'blue', 'api']);
      // Checked as it streams (100 MB is not kept): each flood line must be the next number, whole.
      let partial = '';
      let next = 1;
      let bad: string | undefined;
      let done: number | undefined;
      let err = '';
      follower.stdout!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString('utf8')).split('\n');
        partial = lines.pop()!;
        for (const l of lines) {
          if (l.startsWith('flood done ')) done = Number(l.slice('flood done '.length));
          else if (l.startsWith('flood ')) {
            if (!l.startsWith(`flood ${next} `) || l.length !== 99)
              bad ??= `expected line ${next}, got ${l.slice(0, 30)}`;
            next++;
          }
        }
      });
      follower.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
      const files = () => fs.readdirSync(path.dirname(log)).filter((f) => /^api\.log(\.\d+)?$/.test(f));
      let most = 0;
      const deadline = performance.now() + 60_000;
      while (done === undefined && performance.now() < deadline) {
        const used = files().reduce(
          (n, f) => n + (fs.statSync(path.join(path.dirname(log), f), { throwIfNoEntry: false })?.size ?? 0),
          0,
        );
        most = Math.max(most, used);
        await sleep(50);
      }
      follower.kill('SIGINT');
      await new Promise((resolve) => follower.on('close', resolve));
      t.diagnostic(
        `the api log and its rotated files took at most ${(most / MB).toFixed(1)} MB; files: ${files().join(', ')}`,
      );
      assert.doesNotMatch(err, /rotated/, 'the follower never had to skip');
      assert.equal(done, Math.round((100 * MB) / 100), 'the app wrote all of it');
      assert.equal(bad, undefined);
      assert.equal(next - 1, done, 'the follower printed every line once, in order');
      assert.ok(most <= 10 * MB * 6, `at most maxSize x (keep + 1) = 60 MB (${(most / MB).toFixed(1)} MB)`);
      assert.deepEqual(
        files().sort(),
        ['api.log', 'api.log.1', 'api.log.2', 'api.log.3', 'api.log.4', 'api.log.5'],
        'keep: 5 rotated files',
      );
      assert.equal(pidOf(), pid, 'the app was never restarted');
      // `logs` without -f prints what is kept, ending with the last line.
      const tail = await p.run(['logs', 'blue', 'api']);
      assert.equal(tail.code, 0);
      assert.match(tail.stdout.trimEnd().split('\n').at(-1)!, /^flood done /);
    } finally {
      await p.cleanup();
    }
  },
);
