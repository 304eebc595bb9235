/**
 * canary promote|abort (run/canary-control.ts, state/canary-request.ts): the pure rules (which
 * step a request may act on, which requests are stale), the request file's exchange (one taker,
 * no overwrite, withdrawal), and the whole exchange in process against a deploy with the
 * in-memory runtime and proxy: a promote ends a 60 s step at once, an abort puts every client back
 * and fails the deploy with CANARY_ABORTED, and nothing running means a refusal that changes nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { SwitchyardError } from '../../src/errors.ts';
import { canaryControl, canaryInbox } from '../../src/run/canary-control.ts';
import { createEngine, type Engine } from '../../src/run/context.ts';
import { deploy } from '../../src/run/deploy.ts';
import { init } from '../../src/run/init.ts';
import { writeJsonAtomic } from '../../src/state/atomic.ts';
import {
  type CanaryAck,
  type CanaryRequest,
  matchRequest,
  publishRequest,
  readAck,
  runningCanary,
  takeRequest,
  withdrawRequest,
} from '../../src/state/canary-request.ts';
import { readHistory } from '../../src/state/history.ts';
import { type JournalData, journalSchema, readJournal } from '../../src/state/journal.ts';
import { projectPaths } from '../../src/state/paths.ts';
import { readState } from '../../src/state/state.ts';
import { memoryProxy, type MemoryProxy } from '../helpers/memory-proxy.ts';
import { memoryRuntime, type MemoryRuntime } from '../helpers/memory-runtime.ts';
import { freePort } from '../helpers/project.ts';

const journal = (over: Partial<JournalData> = {}): JournalData => ({
  version: 1,
  id: 'op-1',
  type: 'deploy',
  owner: { pid: 1, host: 'h' },
  startedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  from: 'blue',
  to: 'green',
  release: 'r2',
  backup: null,
  flags: [],
  startsTarget: true,
  committed: false,
  steps: [{ index: 7, title: 'Shifting 30% of clients to green', kind: 'shift', status: 'started', startedAt: 'x' }],
  canary: { percent: 30, startedAt: '2026-01-01T00:00:01.000Z' },
  ...over,
});

const request = (over: Partial<CanaryRequest> = {}): CanaryRequest => ({
  id: 'abc',
  operation: 'op-1',
  action: 'promote',
  percent: 30,
  by: 'alice@host',
  origin: 'cli',
  at: '2026-01-01T00:00:02.000Z',
  ...over,
});

test('runningCanary: only a live deploy waiting in a canary step below 100% can be acted on', () => {
  assert.deepEqual(runningCanary(journal(), true), {
    operation: 'op-1',
    percent: 30,
    startedAt: '2026-01-01T00:00:01.000Z',
  });
  const refused = (j: JournalData | undefined, alive = true) => {
    const r = runningCanary(j, alive);
    assert.ok('refused' in r, JSON.stringify(r));
    return `${r.refused} | ${r.hint}`;
  };
  assert.match(refused(undefined), /^no deploy is running/);
  assert.match(refused(journal(), false), /interrupted .*`switchyard recover`/);
  assert.match(refused(journal({ type: 'switch' })), /is a switch \(op-1\), not a deploy/);
  // The step marker, not the step's title: a deploy building, or between two steps, is not waiting.
  const { canary: _, ...noCanary } = journal();
  assert.match(refused(noCanary), /not in a canary step \(its step now: Shifting 30% .*, started\)/);
  assert.match(refused(journal({ canary: { percent: 100, startedAt: 'x' } })), /not in a canary step/);
});

test('journals without the canary marker (written before it) are still valid', () => {
  const { canary: _, ...old } = journal();
  assert.equal(journalSchema.safeParse(old).success, true);
  assert.equal(journalSchema.safeParse(journal()).success, true);
});

test('matchRequest: a request for the running operation and step is taken; any other is stale', () => {
  const step = { operation: 'op-1', percent: 30 };
  assert.deepEqual(matchRequest(request(), step), { take: request() });
  assert.deepEqual(matchRequest(request({ action: 'abort' }), step), { take: request({ action: 'abort' }) });
  const other = matchRequest(request({ operation: 'op-0' }), step);
  assert.ok('stale' in other);
  assert.match(other.stale, /meant for operation op-0, and op-1 is running/);
  assert.equal(other.request?.id, 'abc', 'a stale request that parses is answered');
  const earlier = matchRequest(request({ percent: 10 }), step);
  assert.ok('stale' in earlier);
  assert.match(earlier.stale, /meant for the 10% step, and the deploy is at 30%/);
  for (const junk of [null, 'promote', { ...request(), action: 'rollback' }, { ...request(), id: '' }, {}]) {
    const m = matchRequest(junk, step);
    assert.ok('stale' in m && m.request === undefined, JSON.stringify(junk));
  }
});

test('the request file: never overwritten, taken once, withdrawn only while not taken', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-unit-canary-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const paths = projectPaths(dir);
  assert.equal(await publishRequest(paths, request()), undefined);
  const mode = (await fs.stat(paths.canaryRequest)).mode & 0o777;
  assert.equal(mode, 0o600);
  const inTheWay = await publishRequest(paths, request({ id: 'def', action: 'abort' }));
  assert.deepEqual(inTheWay, { existing: request() }, 'the first request stays');
  assert.deepEqual(await takeRequest(paths), { raw: request() });
  assert.equal(await takeRequest(paths), undefined, 'taken once');
  assert.equal(await withdrawRequest(paths, 'abc'), false, 'gone: the deploy took it');
  assert.equal(await publishRequest(paths, request({ id: 'ghi' })), undefined);
  assert.equal(await withdrawRequest(paths, 'other'), false, 'not ours: left alone');
  assert.equal(await withdrawRequest(paths, 'ghi'), true);
  await fs.writeFile(paths.canaryRequest, '{ not json');
  assert.deepEqual(await takeRequest(paths), { raw: null });
  assert.deepEqual(
    (await fs.readdir(paths.dir)).filter((f) => f.startsWith('canary-request')),
    [],
    'no staging or taken file is left behind',
  );
});

// ------------------------------------------------- in process, against a deploy

const config = (port: number) => `app: unit
runtime: process
proxy:
  kind: builtin
  listen: { http: ${port}, host: 127.0.0.1 }
  routes:
    - { path: /, service: web }
services:
  web: { cwd: ., command: node server.mjs, health: { path: / } }
checks:
  interval: 10ms
  timeout: 400ms
  requestTimeout: 250ms
  healthyAfter: 1
deploy:
  drainTimeout: 100ms
  verifyTimeout: 2s
`;

interface Project {
  e: Engine;
  /** The other process: the same project, as `switchyard canary` (or the dashboard) opens it. */
  other: (origin?: string) => Engine;
  runtime: MemoryRuntime;
  proxy: MemoryProxy;
  lines: string[];
  warnings: string[];
}

async function project(t: TestContext, extra = ''): Promise<Project> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-unit-canary-'));
  await fs.writeFile(path.join(dir, 'switchyard.yml'), config(await freePort()) + extra);
  const loaded = await loadConfig({ cwd: dir, env: {} });
  const runtime = memoryRuntime(Object.keys(loaded.config.services));
  const proxy = memoryProxy(loaded.config);
  const lines: string[] = [];
  const warnings: string[] = [];
  const e = createEngine(loaded, {
    runtime,
    proxy,
    reporter: {
      step: (_i, _n, title) => ({
        update() {},
        ok: (d) => void lines.push(`ok ${title}: ${d ?? ''}`),
        fail: (d) => void lines.push(`fail ${title}: ${d ?? ''}`),
        skip() {},
      }),
      info() {},
      warn: (w) => void warnings.push(w),
      event() {},
    },
  });
  t.after(async () => {
    await proxy.stop();
    await runtime.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  return {
    e,
    other: (origin) => createEngine(loaded, { runtime, proxy, ...(origin ? { origin } : {}) }),
    runtime,
    proxy,
    lines,
    warnings,
  };
}

/** Until the journal shows the deploy waiting in its `percent`% step. */
async function waitForStep(e: Engine, percent: number): Promise<JournalData> {
  const t0 = Date.now();
  for (;;) {
    const j = await readJournal(e.paths).catch(() => undefined);
    if (j?.canary?.percent === percent) return j;
    assert.ok(Date.now() - t0 < 10_000, `no ${percent}% step within 10 s: ${JSON.stringify(j)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const hasCode = (code: string, message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof SwitchyardError, String(err));
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return true;
};

for (const watched of [false, true]) {
  const extra = watched ? '  rollbackOn: { errorRate: 2%, minRequests: 1000 }\n  watch: 100ms\n' : '';
  const label = watched ? 'watched' : 'not watched';

  test(`${label}: promote ends a 60 s step at once, and says who, from where, after how long`, async (t) => {
    const p = await project(t, extra);
    await init(p.e);
    const t0 = performance.now();
    const run = deploy(p.e, { autoSwitch: true, canary: [30, 60, 100], stepWait: 60_000 });
    const j = await waitForStep(p.e, 30);
    const r = await canaryControl(p.other('dashboard'), 'promote');
    assert.equal(r.operation, j.id);
    assert.equal(r.percent, 30);
    assert.equal(r.origin, 'dashboard');
    assert.equal(r.message, 'the deploy goes on to the next step');
    await waitForStep(p.e, 60);
    assert.equal((await canaryControl(p.other(), 'promote')).origin, 'cli');
    const done = await run;
    assert.ok(performance.now() - t0 < 20_000, 'well before the 60 s steps would have ended');
    assert.equal(done.to, 'green');
    assert.equal((await readState(p.e.paths))?.active, 'green');
    const shifts = p.lines.filter((l) => l.startsWith('ok Shifting'));
    assert.equal(shifts.length, 2, p.lines.join('\n'));
    assert.match(shifts[0]!, /30%.*; promoted by .+@.+ from dashboard after \d/);
    assert.match(shifts[1]!, /60%.*; promoted by .+@.+ from cli after \d/);
    if (watched) assert.match(shifts[0]!, /30% for [\d.]+m?s: \d+ requests/);
    const h = (await readHistory(p.e.paths)).at(-1)!;
    assert.equal(h.result, 'success');
    assert.deepEqual(
      h.canaryControl?.map((c) => [c.action, c.percent, c.origin]),
      [
        ['promote', 30, 'dashboard'],
        ['promote', 60, 'cli'],
      ],
    );
    assert.match(h.reason ?? '', /canary 30% promoted by .* from dashboard after .*; canary 60% promoted by/);
    assert.equal(await fs.readFile(p.e.paths.canaryAck).catch(() => undefined), undefined, 'the answer was read');
  });

  test(`${label}: abort puts every client back and fails the deploy with CANARY_ABORTED`, async (t) => {
    const p = await project(t, extra);
    await init(p.e);
    const before = await fs.readFile(p.e.paths.state, 'utf8');
    const run = deploy(p.e, { autoSwitch: true, canary: [30, 100], stepWait: 60_000 });
    const failed = assert.rejects(
      run,
      hasCode(
        'CANARY_ABORTED',
        /^canary aborted at 30% by .+ from cli after .*: every client is back on blue \(in \d+ ms\)$/,
      ),
    );
    await waitForStep(p.e, 30);
    assert.equal(p.proxy.routing().canary?.percent, 30);
    const r = await canaryControl(p.other(), 'abort');
    assert.match(r.message, /^every client is back on blue \(in \d+ ms\); the deploy stops green and fails$/);
    await failed;
    assert.equal(p.proxy.routing().canary, null);
    assert.equal(p.proxy.routing().active, 'blue');
    assert.equal(await fs.readFile(p.e.paths.state, 'utf8'), before, 'state.json unchanged');
    const h = (await readHistory(p.e.paths)).at(-1)!;
    assert.equal(h.result, 'failed');
    assert.match(h.reason ?? '', /^canary aborted at 30% by .+ from cli/);
    assert.equal(h.canaryControl?.[0]?.action, 'abort');
    await assert.rejects(fs.access(p.e.paths.journal), { code: 'ENOENT' });
  });
}

test('no deploy running, or not in a canary step: refused, and nothing is left behind', async (t) => {
  const p = await project(t);
  await assert.rejects(canaryControl(p.other(), 'promote'), hasCode('NO_CANARY', /no deploy is running/));
  await init(p.e);
  // A deploy without canary steps: refused while it builds.
  p.runtime.onStart = async () => {
    await assert.rejects(canaryControl(p.other(), 'abort'), hasCode('NO_CANARY', /not in a canary step/));
  };
  await deploy(p.e, { autoSwitch: true });
  p.runtime.onStart = undefined;
  await assert.rejects(canaryControl(p.other(), 'nope' as 'abort'), hasCode('USAGE'));
  assert.deepEqual(
    (await fs.readdir(p.e.paths.dir)).filter((f) => f.startsWith('canary-')),
    [],
  );
});

test('a stale request is dropped and answered "ignored" by the deploy, which keeps waiting', async (t) => {
  const p = await project(t);
  await init(p.e);
  const run = deploy(p.e, { autoSwitch: true, canary: [30, 100], stepWait: 60_000 });
  const j = await waitForStep(p.e, 30);
  // Left by a requester of an earlier step (say, killed while it waited).
  assert.equal(await publishRequest(p.e.paths, request({ operation: j.id, percent: 10, id: 'old' })), undefined);
  const t0 = Date.now();
  let ack: CanaryAck | undefined;
  while (!(ack = await readAck(p.e.paths, 'old'))) {
    assert.ok(Date.now() - t0 < 5_000, 'the deploy answers a stale request');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(ack.outcome, 'ignored');
  assert.match(ack.message, /meant for the 10% step, and the deploy is at 30%/);
  assert.ok(
    p.warnings.some((w) => /ignored a canary request: meant for the 10% step/.test(w)),
    p.warnings.join(),
  );
  await assert.rejects(fs.access(p.e.paths.canaryRequest), { code: 'ENOENT' });
  await canaryControl(p.other(), 'promote');
  await run;
});

/** A deploy's journal waiting in its 30% step, owned by this (live) process: the deploy is played by hand. */
async function handPlayed(t: TestContext): Promise<{ e: Engine; step: { operation: string; percent: number } }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-unit-canary-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  await fs.writeFile(path.join(dir, 'switchyard.yml'), config(await freePort()));
  const e = createEngine(await loadConfig({ cwd: dir, env: {} }));
  await writeJsonAtomic(e.paths.journal, journal({ owner: { pid: process.pid, host: os.hostname() } }));
  return { e, step: { operation: 'op-1', percent: 30 } };
}

const leftovers = async (e: Engine) => (await fs.readdir(e.paths.dir)).filter((f) => f.startsWith('canary-'));

test('the requester: a deploy that does not take the request in time gets it withdrawn (TIMEOUT)', async (t) => {
  const { e } = await handPlayed(t);
  const t0 = performance.now();
  await assert.rejects(canaryControl(e, 'promote', { timeoutMs: 300 }), hasCode('TIMEOUT', /withdrawn, nothing/));
  assert.ok(performance.now() - t0 < 2_000);
  assert.deepEqual(await leftovers(e), []);
});

test('the requester: a step that ends before taking the request gets it withdrawn (NO_CANARY)', async (t) => {
  const { e } = await handPlayed(t);
  const asked = canaryControl(e, 'abort');
  await new Promise((r) => setTimeout(r, 150));
  await writeJsonAtomic(e.paths.journal, {
    ...journal({ owner: { pid: process.pid, host: os.hostname() } }),
    canary: undefined,
  });
  await assert.rejects(asked, hasCode('NO_CANARY', /the 30% step of deploy op-1 ended before the deploy took/));
  assert.deepEqual(await leftovers(e), []);
});

test('the requester: an "ignored" answer is NO_CANARY; a second request while one waits is LOCKED', async (t) => {
  const { e, step } = await handPlayed(t);
  const inbox = canaryInbox(e, { ...step, percent: 60 }); // the deploy has moved on
  const asked = canaryControl(e, 'promote');
  await new Promise((r) => setTimeout(r, 150));
  await assert.rejects(
    canaryControl(e, 'abort'),
    hasCode('LOCKED', /a canary promote by .* from cli is already waiting/),
  );
  assert.equal(await inbox.poll(), undefined, 'stale for the 60% step');
  await assert.rejects(
    asked,
    hasCode('NO_CANARY', /ignored the promote: meant for the 30% step, and the deploy is at 60%/),
  );
  assert.deepEqual(await leftovers(e), [], 'the answer was read and removed');
  // The right step takes it, and the requester returns what the deploy said.
  const inbox30 = canaryInbox(e, step);
  const again = canaryControl(e, 'promote');
  let q: CanaryRequest | undefined;
  while (!(q = await inbox30.poll())) await new Promise((r) => setTimeout(r, 20));
  await inbox30.answer(q, 'promoted', 'done by hand', 1234);
  assert.deepEqual(
    { ...(await again), by: 'x' },
    {
      action: 'promote',
      operation: 'op-1',
      percent: 30,
      by: 'x',
      origin: 'cli',
      afterMs: 1234,
      message: 'done by hand',
    },
  );
});
