/**
 * Zero downtime (I3): a bounded keep-alive load through the real proxy while a whole deploy,
 * five switches and a second deploy happen. Not one request may fail, and every request that
 * starts after a switch returned must be answered by the new colour.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { assertNoFailureThroughDeploysAndSwitches } from '../helpers/switch-marks.ts';
import { budget } from '../helpers/budget.ts';
import { useProject } from '../helpers/project.ts';

const project = useProject({ before, after }, 'fixture', { init: true });

/** Runs a command that must succeed; returns when it started and when it returned. */
async function ok(args: string[]) {
  const start = Date.now();
  const r = await project().run(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { start, end: Date.now() };
}

test(
  '3,000+ keep-alive requests through 2 deploys and 5 switches: none fails, none reaches the old colour after a switch',
  budget(7_000),
  async (t) => {
    const totals = await assertNoFailureThroughDeploysAndSwitches(project(), ok);
    t.diagnostic(
      `sent ${totals.sent} requests in ${totals.ms} ms, failed ${totals.failed}, ` +
        `by colour ${JSON.stringify(totals.byColour)}`,
    );
  },
);

test('a 2 s request that starts before a switch completes on the old colour', budget(2_600), async () => {
  const p = project();
  await ok(['deploy', '--auto-switch', '--keep-old']); // green -> blue, green kept warm
  const slow = request(`http://127.0.0.1:${p.port}/api/slow?ms=2000`, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  await new Promise((r) => setTimeout(r, 300));
  const { start, end } = await ok(['switch', 'green']);
  const switchMs = end - start;
  const res = await slow;
  const body = await res.body.text();
  assert.equal(res.statusCode, 200, body);
  assert.equal(res.headers['x-switchyard-env'], 'blue');
  assert.ok(switchMs < 1700, `the switch waited for the slow request (${switchMs} ms)`);
  assert.equal((await p.get('/api/echo')).colour, 'green');
});
