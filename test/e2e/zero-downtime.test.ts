/**
 * Zero downtime (I3): a bounded keep-alive load through the real proxy while a whole deploy,
 * five switches and a second deploy happen. Not one request may fail, and every request that
 * starts after a switch returned must be answered by the new colour.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startLoad } from '../../src/load/load.ts';
import { assertFollowsMarks, deployThenSwitch, keepLoading, type Mark } from '../helpers/switch-marks.ts';
import { useProject } from '../helpers/project.ts';

const project = useProject({ before, after }, 'fixture', { init: true });

/** Runs a command that must succeed; returns when it started and when it returned. */
async function ok(args: string[]) {
  const start = Date.now();
  const r = await project().run(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { start, end: Date.now() };
}

test('3,000+ keep-alive requests through 2 deploys and 5 switches: none fails, none reaches the old colour after a switch', async (t) => {
  const p = project();
  const load = startLoad({ origin: `http://127.0.0.1:${p.port}`, path: '/api/echo', connections: 8, maxRequests: 200_000, maxMs: 150_000 });
  while (load.sent < 300) await new Promise((r) => setTimeout(r, 20));

  // Each command moves traffic to `colour`: every request that starts after it returned (and
  // before the next command started) must be answered by that colour.
  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  const marks: Mark[] = await deployThenSwitch(ok, 5); // ends on blue
  await p.setBehaviour({ version: 'v3', mode: 'ok' });
  marks.push({ ...(await ok(['deploy', '--auto-switch'])), colour: 'green' });
  // Keep the load going after the last command: at least 1,000 requests checked against the final colour.
  await keepLoading(load);
  await new Promise((r) => setTimeout(r, 300));
  const totals = await load.stop();

  t.diagnostic(`sent ${totals.sent} requests in ${totals.ms} ms, failed ${totals.failed}, by colour ${JSON.stringify(totals.byColour)}`);
  assert.ok(totals.sent >= 3000, `sent ${totals.sent}`);
  assert.equal(totals.failed, 0, `failed: ${JSON.stringify(totals.errors)}`);
  assert.ok((totals.byColour.blue ?? 0) > 0 && (totals.byColour.green ?? 0) > 0, JSON.stringify(totals.byColour));
  const checked = assertFollowsMarks(totals, marks);
  assert.ok(checked > 500, `only ${checked} requests started after the first switch`);
  // blue was stopped by the last deploy: nothing may have come from it afterwards.
  const last = marks.at(-1)!;
  assert.ok(totals.samples.filter((s) => totals.startedAt + s.at >= last.end).every((s) => s.colour === 'green'));
});

test('a 2 s request that starts before a switch completes on the old colour', async () => {
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
