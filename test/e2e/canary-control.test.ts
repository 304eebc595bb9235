/**
 * `switchyard canary promote|abort` end to end, with the built-in proxy and real processes: a
 * `deploy --auto-switch --canary 30,100 --step-wait 60s` runs in the background, and the CLI in
 * "another terminal" ends its 30% step. Promote: the deploy goes on at once (well before 60 s),
 * the new colour is live, history says who promoted. Abort: every client (one on the canary too)
 * is back on the old colour through the proxy, the deploy exits 1 with CANARY_ABORTED, state.json
 * is byte for byte what it was. With no deploy running, `canary promote` exits 1 and changes
 * nothing. Loopback only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { JournalData } from '../../src/state/journal.ts';
import { budget } from '../helpers/budget.ts';
import { historyOf as history, makeProject, type Project } from '../helpers/project.ts';
import { get, stickyCookie } from '../helpers/traffic.ts';

const DEPLOY = ['deploy', '--auto-switch', '--canary', '30,100', '--step-wait', '60s'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The deploy in the background: its output so far, and its exit. */
function background(p: Project, args: string[]): { out: () => string; exited: Promise<number | null> } {
  const child = p.spawn(args);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { out: () => out, exited };
}

/** Until the deploy's journal shows it waiting in its `percent`% step (or it exited). */
async function waitForStep(p: Project, percent: number, d: ReturnType<typeof background>): Promise<JournalData> {
  let exited = false;
  void d.exited.then(() => (exited = true));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await p.file('.switchyard/journal.json');
    const j = text ? (JSON.parse(text) as JournalData) : undefined;
    if (j?.canary?.percent === percent) return j;
    assert.ok(!exited && Date.now() < deadline, `no ${percent}% canary step:\n${d.out()}`);
    await sleep(50);
  }
}

/** Every answer through the public port (fresh clients, and the cookie of one that was on the canary). */
async function allOn(p: Project, colour: string, version: string, cookie: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const a = await get(p.port, '/api/echo', i % 2 ? { headers: { cookie } } : {});
    assert.equal(a.status, 200, a.body);
    assert.equal(a.colour, colour, `request ${i}: ${a.body}`);
    assert.match(a.body, new RegExp(`"version":"${version}"`));
  }
}

/** A client the 30% split put on `to`: its sticky cookie. */
async function canaryClient(p: Project, to: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const a = await get(p.port, '/api/echo');
    const cookie = stickyCookie(a, 'sy_canary');
    if (a.colour === to && cookie) return cookie;
  }
  assert.fail(`no request of 200 reached ${to} during the 30% split`);
}

describe('builtin: canary promote and abort from another process', () => {
  let p: Project;

  before(async () => {
    p = await makeProject('fixture');
    await p.setBehaviour({ version: 'v1', mode: 'ok' });
    const r = await p.run(['init']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }, budget(4_000));
  after(async () => {
    await p?.cleanup();
  }, budget(3_000));

  test('promote: the deploy goes on at once, green is live, history says who promoted', budget(5_000), async () => {
    await p.setBehaviour({ version: 'v2', mode: 'ok' });
    const t0 = Date.now();
    const d = background(p, DEPLOY);
    const j = await waitForStep(p, 30, d);
    const r = await p.run(['canary', 'promote']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`✓ promoted the 30% step of deploy ${j.id} after [\\d.]+m?s: `));
    assert.equal(await d.exited, 0, d.out());
    assert.ok(Date.now() - t0 < 20_000, `the deploy took ${Date.now() - t0} ms, not well under the 60 s step`);
    assert.match(d.out(), /Shifting 30% of clients to green\.\.\. ✓ .*30%, not watched; promoted by \S+@\S+ from cli/);
    assert.match((await p.file('.switchyard/state.json')) ?? '', /"active": ?"green"/);
    const st = await p.run(['status']);
    assert.equal(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, /active: +green/);
    const h = (await history(p)).at(-1)!;
    assert.equal(h.type, 'deploy');
    assert.equal(h.result, 'success');
    assert.match(h.reason ?? '', /^canary 30% promoted by \S+ from cli after /);
    assert.deepEqual(
      h.canaryControl?.map((c) => [c.action, c.percent, c.origin]),
      [['promote', 30, 'cli']],
    );
    for (let i = 0; i < 10; i++) assert.equal((await get(p.port, '/api/echo')).colour, 'green');
  });

  test(
    'abort: every client back on green, the deploy exits 1 with CANARY_ABORTED, state.json unchanged',
    budget(5_000),
    async () => {
      await p.setBehaviour({ version: 'v3', mode: 'ok' });
      const stateBefore = await p.file('.switchyard/state.json');
      const d = background(p, [...DEPLOY, '--json']);
      const j = await waitForStep(p, 30, d);
      const cookie = await canaryClient(p, 'blue');
      const r = await p.run(['canary', 'abort', '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const result = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((ev) => ev.event === 'result');
      assert.equal(result?.ok, true, r.stdout);
      assert.equal(result?.operation, j.id);
      assert.equal(result?.percent, 30);
      assert.match(String(result?.message), /^every client is back on green \(in \d+ ms\); the deploy stops blue/);
      // The answer came once the clients were back: the old release serves everyone, the canary client too.
      await allOn(p, 'green', 'v2', cookie);
      assert.equal(await d.exited, 1, d.out());
      const error = d
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((ev) => ev.event === 'error');
      assert.equal(error?.code, 'CANARY_ABORTED', d.out());
      assert.equal(error?.exitCode, 1);
      assert.match(String(error?.message), /^canary aborted at 30% by \S+ from cli after .*: every client is back/);
      await allOn(p, 'green', 'v2', cookie);
      assert.equal(await p.file('.switchyard/state.json'), stateBefore);
      const h = (await history(p)).at(-1)!;
      assert.equal(h.type, 'deploy');
      assert.equal(h.result, 'failed');
      assert.equal(h.reason, error?.message);
      assert.equal(h.canaryControl?.[0]?.action, 'abort');
      const st = await p.run(['status']);
      assert.equal(st.code, 0, st.stdout + st.stderr);
      assert.doesNotMatch(st.stdout, /split:/);
    },
  );

  test('with no deploy running: exit 1, a clear message, nothing changes', budget(2_000), async () => {
    const files = async () => (await fs.readdir(path.join(p.dir, '.switchyard'))).sort();
    const before = {
      state: await p.file('.switchyard/state.json'),
      history: await p.file('.switchyard/history.jsonl'),
      files: (await files()).filter((f) => f !== 'canary-ack.json'),
    };
    const r = await p.run(['canary', 'promote']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /✗ no deploy is running\n.*hint: a canary step can only be promoted or aborted while/s);
    const json = await p.run(['canary', 'abort', '--json']);
    assert.equal(json.code, 1);
    const ev = JSON.parse(json.stdout.trim()) as Record<string, unknown>;
    assert.deepEqual([ev.event, ev.code, ev.exitCode, ev.message], ['error', 'NO_CANARY', 1, 'no deploy is running']);
    assert.deepEqual(
      {
        state: await p.file('.switchyard/state.json'),
        history: await p.file('.switchyard/history.jsonl'),
        files: (await files()).filter((f) => f !== 'canary-ack.json'),
      },
      before,
    );
    assert.ok(!before.files.some((f) => f.startsWith('canary-request')), before.files.join());
    for (let i = 0; i < 10; i++) assert.equal((await get(p.port, '/api/echo')).colour, 'green');
  });
});
