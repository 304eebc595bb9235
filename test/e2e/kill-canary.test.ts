/**
 * A deploy SIGKILLed during a canary step, with each proxy (built-in, and nginx on the host):
 * `deploy --auto-switch --canary 10,50,100 --step-wait 3s --json` runs under a bounded keep-alive
 * load and is killed the moment its 50% step reports progress, so the proxy still sends half of
 * the clients to the target. Then: `status` exits 4 naming the interrupted deploy and shows the
 * split; `recover` ends the split first and then stops the target, so every client (one that was
 * on the canary too) is back on the old colour; the split is gone, the target stopped, the next
 * deploy works, and no request of the load failed. Each proxy runs it twice: not watched, and with
 * deploy.rollbackOn, where the killed deploy left the live watch counting and `recover` turns it
 * off (for nginx: the access log stops growing). Loopback only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { makeProject, type Project } from '../helpers/project.ts';
import { assertConverged, duringStep, runAndKill, startKeepAliveLoad, statusJson } from '../helpers/kill-steps.ts';
import { stickyCookie, get, shares } from '../helpers/traffic.ts';

const other = (c: string) => (c === 'blue' ? 'green' : 'blue');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CANARY = ['deploy', '--auto-switch', '--canary', '10,50,100', '--step-wait', '3s', '--json'];

/** A client on the canary: requests without a cookie until one lands on `to`; its sticky cookie. */
async function canaryClient(port: number, to: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const a = await get(port, '/api/echo');
    if (a.colour === to) {
      const cookie = stickyCookie(a, 'sy_canary');
      assert.ok(cookie, `no sticky cookie while a split runs: ${JSON.stringify(a.headers)}`);
      return cookie;
    }
  }
  assert.fail(`no request of 100 reached ${to} during the split`);
}

for (const kind of ['builtin', 'nginx'] as const) {
  describe(`${kind}: deploy SIGKILLed during a canary step`, () => {
    let p: Project;
    let version = 1;
    let yml: string;
    let plain: string;

    before(async () => {
      p = await makeProject('fixture', { proxy: kind });
      yml = path.join(p.dir, 'switchyard.yml');
      plain = await fs.readFile(yml, 'utf8');
      assert.match(plain, /\ndeploy:\n/);
      const r = await p.run(['init']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }, budget(4_000));
    after(async () => {
      await p?.cleanup();
    }, budget(3_000));

    for (const watched of [false, true]) {
      test(
        `${watched ? 'watched (deploy.rollbackOn)' : 'not watched'}: recover ends the split, then stops the target; ` +
          'every client back on the old colour; 0 failed requests',
        budget(29_200),
        async (t) => {
          // With rollbackOn the deploy turns counting on; watch: 2s keeps the next deploy short.
          await fs.writeFile(
            yml,
            watched
              ? plain.replace(
                  '\ndeploy:\n',
                  '\ndeploy:\n  watch: 2s\n  rollbackOn: { errorRate: 2%, minRequests: 20 }\n',
                )
              : plain,
          );
          const from = await assertConverged(p);
          const to = other(from);
          const stateBefore = await p.file('.switchyard/state.json');
          const l = startKeepAliveLoad(`http://127.0.0.1:${p.port}`, {
            path: '/api/echo',
            connections: 4,
            maxRequests: 150_000,
            maxMs: 120_000,
          });
          try {
            const t0 = Date.now();
            while (l.sent < 50 && Date.now() - t0 < 10_000) await sleep(10);
            assert.ok(l.sent >= 50, 'the load is running');

            await p.setBehaviour({ version: `v${++version}`, mode: 'ok' });
            const k = await runAndKill(p, CANARY, duringStep(new RegExp(`^Shifting 50% of clients to ${to}$`)), 60_000);
            const killedAt = Date.now();
            assert.ok(
              k.killed,
              `the deploy was not killed (exit ${k.code}): ${JSON.stringify(k.events.slice(-3))} ${k.stderr}`,
            );
            assert.ok(
              k.events.some(
                (e) => e.event === 'step' && e.status === 'ok' && e.title === `Shifting 10% of clients to ${to}`,
              ),
              'the 10% step had finished',
            );
            const id = (JSON.parse((await p.file('.switchyard/journal.json'))!) as { id: string }).id;

            // (2) status exits 4 naming the interrupted deploy and the canary step it was in.
            const st = await p.run(['status']);
            assert.equal(st.code, 4, st.stdout + st.stderr);
            assert.match(
              st.stdout,
              new RegExp(
                `deploy ${id} \\(${from} -> ${to}[^)]*\\) was interrupted: its process \\(pid \\d+\\) is gone`,
              ),
            );
            assert.match(
              st.stdout,
              new RegExp(`last step started: \\[\\d+\\] Shifting 50% of clients to ${to} \\(not finished\\)`),
            );
            assert.match(st.stdout, /fix: run `switchyard recover`/);
            // (3) the split is still there: in status, its JSON, and in where clients land.
            assert.match(st.stdout, new RegExp(`^split: +50% of clients on ${to}, 50% on ${from}$`, 'm'));
            const sj = await statusJson(p);
            assert.equal(sj.code, 4, sj.text);
            assert.deepEqual(sj.report.proxy.canary, { colour: to, percent: 50 });
            assert.equal(sj.report.proxy.active, from);
            assert.equal(sj.report.proxy.watching, watched, 'counting is on only when the deploy watched');
            assert.equal(
              await p.file('.switchyard/state.json'),
              stateBefore,
              'state.json untouched before the switch (I2)',
            );
            const cookie = await canaryClient(p.port, to);
            for (let i = 0; i < 10; i++)
              assert.equal(
                (await get(p.port, '/api/echo', { headers: { cookie } })).colour,
                to,
                'the canary client stays on the canary',
              );
            const logBefore =
              watched && kind === 'nginx' ? (await fs.stat(path.join(p.dir, '.switchyard/nginx/access.json'))).size : 0;

            // (4) recover: the split ends first, then the target stops.
            const recoverAt = Date.now();
            const rec = await p.run(['recover']);
            const recoveredAt = Date.now();
            assert.equal(rec.code, 0, rec.stdout + rec.stderr);
            assert.match(rec.stdout, new RegExp(`deploy ${id} .*was interrupted`));
            const steps = [...rec.stdout.matchAll(/^\[\d+\/\d+\] (.+?)\.\.\. ✓/gm)].map((m) => m[1]);
            const split = steps.indexOf(`Ending the 50% split to ${to}`);
            const stop = steps.indexOf(`Stopping ${to}`);
            assert.ok(split >= 0, `recover ended the split: ${rec.stdout}`);
            assert.ok(stop > split, `recover stopped ${to} after ending the split: ${steps.join(' | ')}`);
            assert.match(rec.stdout, /every client is back on the live colour/);
            assert.match(rec.stdout, /✓ Recovered: undid the deploy/);
            if (watched) assert.match(rec.stdout, /Turning the live watch off\.\.\. ✓/);
            else assert.doesNotMatch(rec.stdout, /live watch/i, 'the watch is mentioned only when it was on');
            const again = await p.run(['recover']);
            assert.equal(again.code, 0, again.stdout + again.stderr);
            assert.match(again.stdout, /Nothing to recover/);

            // (5) every client on the old colour, the split gone, the target stopped, counting off.
            assert.equal(await assertConverged(p), from);
            const after = await statusJson(p);
            assert.equal(after.report.proxy.canary ?? null, null);
            assert.equal(after.report.proxy.watching, false);
            assert.ok(
              after.report.colours[to]!.services.every((s) => !s.running),
              `${to} is stopped`,
            );
            const text = await p.run(['status']);
            assert.equal(text.code, 0, text.stdout + text.stderr);
            assert.doesNotMatch(text.stdout, /^split:/m);
            assert.doesNotMatch(text.stdout, /^watching:/m);
            assert.equal(
              await p.file('.switchyard/state.json'),
              stateBefore,
              'an undone deploy leaves state.json byte-for-byte',
            );
            for (let i = 0; i < 10; i++)
              assert.equal(
                (await get(p.port, '/api/echo', { headers: { cookie } })).colour,
                from,
                'the canary client is back on the old colour',
              );
            assert.deepEqual(await shares(p.port, '/api/echo', 200), { [from]: 200 });
            if (watched && kind === 'nginx') {
              const log = path.join(p.dir, '.switchyard/nginx/access.json');
              const size = (await fs.stat(log)).size;
              assert.ok(size >= logBefore, 'the access log was written while the watch was on');
              await shares(p.port, '/api/echo', 50);
              assert.equal((await fs.stat(log)).size, size, 'the access log no longer grows');
            }
            await sleep(300);
            const deployAt = Date.now();

            // (6) the next deploy succeeds.
            await p.setBehaviour({ version: `v${++version}`, mode: 'ok' });
            const d = await p.run(['deploy', '--auto-switch'], { timeoutMs: 90_000 });
            assert.equal(d.code, 0, d.stdout + d.stderr);
            assert.equal(await assertConverged(p), to);
            assert.equal(JSON.parse((await p.get('/api/echo')).body).version, `v${version}`);
            await sleep(100);
            const totals = await l.stop();

            // (1) nothing failed; the load saw the split, and only the old colour once recover ended it.
            assert.equal(totals.failed, 0, `failed requests: ${JSON.stringify(totals.errors)}`);
            const at = (s: { at: number }) => totals.startedAt + s.at;
            // Cookie-less requests each draw a bucket: between the kill and recover about half reach the target.
            const split50 = totals.samples.filter((s) => at(s) > killedAt && at(s) < recoverAt);
            const onTarget = split50.filter((s) => s.colour === to).length;
            if (split50.length >= 200)
              assert.ok(
                onTarget / split50.length > 0.3 && onTarget / split50.length < 0.7,
                `${onTarget} of ${split50.length} requests on ${to} at 50%`,
              );
            const afterRecover = totals.samples.filter((s) => at(s) > recoveredAt && at(s) < deployAt);
            assert.ok(
              afterRecover.length > 20,
              `only ${afterRecover.length} requests between recover and the next deploy`,
            );
            const stray = afterRecover.filter((s) => s.colour !== from);
            assert.equal(stray.length, 0, `after recover: ${JSON.stringify(stray.slice(0, 3))}`);
            assert.ok(
              totals.samples.some((s) => s.colour === to && at(s) < recoveredAt),
              `the load reached ${to} during the split`,
            );
            t.diagnostic(
              `${kind}${watched ? ' watched' : ''}: killed at ${k.eventMs} ms; ` +
                `recover ${rec.ms} ms (${steps.join('; ')}); ` +
                `load ${totals.sent} requests (${JSON.stringify(totals.byColour)}), ${totals.failed} failed; ` +
                `${onTarget}/${split50.length} on ${to} between the kill and recover`,
            );
          } finally {
            await l.stop();
          }
        },
      );
    }
  });
}
