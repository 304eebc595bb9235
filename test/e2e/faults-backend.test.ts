/**
 * Fault matrix, rows 10 and 11: the new colour misbehaves on the wire while blue serves a
 * keep-alive load through the built-in proxy. A health endpoint slower than checks.requestTimeout
 * fails the deploy within checks.timeout (plus a small margin) naming both bounds; one just under
 * it passes. A process that resets connections fails the health gate naming the resets; a live
 * colour whose pooled keep-alive connections die under the proxy is hidden from GET users by the
 * proxy's one retry on a fresh connection (requests with a body are not retried).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeProject, type Project } from '../helpers/project.ts';
import { assertServedBy, loadOn, statusJson, warmUp } from '../helpers/faults.ts';
import { budget } from '../helpers/budget.ts';

const TIMEOUT_MS = 3000;
const REQUEST_TIMEOUT_MS = 300;
let proj: Project | undefined;
const project = () => proj!;

before(async () => {
  const p = (proj = await makeProject('fixture'));
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = await fs.readFile(yml, 'utf8');
  const tighter = text.replace(
    '  timeout: 5s\n  requestTimeout: 1s\n',
    `  timeout: ${TIMEOUT_MS}ms\n  requestTimeout: ${REQUEST_TIMEOUT_MS}ms\n`,
  );
  assert.notEqual(tighter, text, 'the fixture config has the checks block this test tightens');
  await fs.writeFile(yml, tighter);
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}, budget(4_000));
after(async () => {
  await proj?.cleanup();
}, budget(3_000));

/** `deploy --auto-switch` of `behaviour` while a GET load runs through the proxy. */
async function deployUnderLoad(behaviour: Record<string, unknown>) {
  const p = project();
  await p.setBehaviour(behaviour);
  const live = (await p.get('/api/echo')).colour!;
  const load = loadOn(p.port, { maxRequests: 40_000, maxMs: 60_000 });
  await warmUp(load);
  const r = await p.run(['deploy', '--auto-switch']);
  await new Promise((res) => setTimeout(res, 200));
  return { r, out: r.stdout + r.stderr, totals: await load.stop(), live };
}

/** "(2.9s)" of a step line, in ms. */
function stepMs(out: string, step: RegExp): number {
  const m = new RegExp(`${step.source}[^\\n]*\\((\\d+(?:\\.\\d+)?)(ms|s)\\)`).exec(out);
  assert.ok(m, `no timing for ${step} in:\n${out}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

test(
  'health answers slower than checks.requestTimeout: the deploy fails within checks.timeout, naming both bounds',
  budget(5_400),
  async () => {
    const stateBefore = await project().file('.switchyard/state.json');
    const { r, out, totals } = await deployUnderLoad({ version: 'v2', mode: 'healthSlow', delayMs: 1000 });
    assert.equal(r.code, 1, out);
    const ms = stepMs(out, /\[5\/8\] Running health checks on green\.\.\. ✗/);
    assert.ok(
      ms >= TIMEOUT_MS - 150 && ms <= TIMEOUT_MS + 700,
      `the health step took ${ms} ms for a ${TIMEOUT_MS} ms timeout`,
    );
    assert.match(out, /green did not become healthy within 3\.0s \(checks\.timeout\) after \d+ checks/);
    assert.match(
      out,
      new RegExp(
        'level 3 health endpoints: FAILED - ' +
          `GET http://127\\.0\\.0\\.1:\\d+/health: no answer within ${REQUEST_TIMEOUT_MS} ms`,
      ),
    );
    assert.match(out, /green stopped; blue is still serving; state\.json is unchanged/);
    assertServedBy(totals, 'blue', 'a deploy whose health checks time out');
    assert.equal(await project().file('.switchyard/state.json'), stateBefore);
    assert.equal((await statusJson(project())).code, 0);
  },
);

test(
  'health answers slowly but within checks.requestTimeout: the timeout is not cut short, the deploy passes',
  budget(1_300),
  async () => {
    const { r, out, totals } = await deployUnderLoad({ version: 'v3', mode: 'healthSlow', delayMs: 150 });
    assert.equal(r.code, 0, out);
    assert.equal(totals.failed, 0, JSON.stringify(totals.errors));
    assert.equal((await project().get('/api/echo')).colour, 'green');
  },
);

test(
  'the new colour resets connections: the health gate fails the deploy naming the resets; blue users see nothing',
  budget(4_200),
  async () => {
    const p = project();
    const stateBefore = await p.file('.switchyard/state.json');
    const { r, out, totals, live } = await deployUnderLoad({ version: 'v4', mode: 'reset', resetEvery: 2 });
    assert.equal(live, 'green');
    assert.equal(r.code, 1, out);
    assert.match(out, /\[5\/8\] Running health checks on blue\.\.\. ✗/);
    assert.match(out, /blue did not become healthy/);
    assert.match(out, /GET http:\/\/127\.0\.0\.1:\d+\/[a-z/]*: connection reset/);
    assert.match(out, /blue stopped; green is still serving; state\.json is unchanged/);
    assertServedBy(totals, 'green', 'a deploy of a colour that resets connections');
    assert.equal(await p.file('.switchyard/state.json'), stateBefore);
    // The resets really happened, in the process the checks talked to.
    assert.match((await p.file('.switchyard/logs/blue/api.log'))!, /resetting the connection of request #2/);
  },
);

test(
  'a live colour whose keep-alive connections die under the proxy: ' +
    'one retry on a fresh connection hides it from GET users',
  budget(1_800),
  async () => {
    const p = project();
    // Every connection is reset at its 5th request. The checks use one fresh connection per request,
    // so they pass; the proxy's pooled connections meet a reset every 5th request, and retry the
    // (idempotent, bodiless) request once on a fresh connection, where it cannot be reset again.
    const { r, out, totals } = await deployUnderLoad({ version: 'v5', mode: 'resetReused', resetEvery: 5 });
    assert.equal(r.code, 0, out);
    assert.equal(totals.failed, 0, `resets reached users during the deploy: ${JSON.stringify(totals.errors)}`);
    const load = loadOn(p.port, { connections: 4, maxRequests: 1000, maxMs: 20_000 });
    assertServedBy(await load.done, 'blue', 'GETs to a colour whose connections die every 5th request');
    const resets = ((await p.file('.switchyard/logs/blue/api.log'))!.match(/resetting a reused connection/g) ?? [])
      .length;
    assert.ok(
      resets >= 50,
      `the backend reset only ${resets} requests of ~1000 (expected about 1 in 5): the fault did not happen`,
    );
  },
);
