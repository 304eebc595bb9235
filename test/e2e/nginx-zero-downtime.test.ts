/**
 * Zero downtime through nginx (issue 3): a 16-connection keep-alive load while deploying, switching
 * 10 times, rolling back and deploying again through the CLI. Not one request may fail, and every
 * request that starts after a command returned must come from the colour it moved traffic to.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startLoad } from '../../src/load/load.ts';
import { assertFollowsMarks, deployThenSwitch, keepLoading, type Mark } from '../helpers/switch-marks.ts';
import { budget } from '../helpers/budget.ts';
import { makeInitedProject, type Project } from '../helpers/project.ts';

let p: Project;
before(async () => {
  p = await makeInitedProject('fixture', { proxy: 'nginx' });
}, budget(4_000));
after(async () => {
  await p.cleanup();
}, budget(3_000));

async function ok(args: string[]) {
  const start = Date.now();
  const r = await p.run(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return { start, end: Date.now() };
}

test('deploy, 10 switches, rollback and deploy through nginx under load: 0 failed', budget(18_500), async (t) => {
  const conf = await p.file('.switchyard/nginx/nginx.conf');
  const load = startLoad({
    origin: `http://127.0.0.1:${p.port}`,
    path: '/api/echo',
    connections: 16,
    maxRequests: 300_000,
    maxMs: 180_000,
  });
  while (load.sent < 300) await new Promise((r) => setTimeout(r, 20));
  await p.setBehaviour({ version: 'v2', mode: 'ok' });
  const marks: Mark[] = await deployThenSwitch(ok, 10);
  // Now green is live again with blue warm: roll back to blue, then deploy v3 to green.
  marks.push({ ...(await ok(['rollback', '--force'])), colour: 'blue' });
  await p.setBehaviour({ version: 'v3', mode: 'ok' });
  marks.push({ ...(await ok(['deploy', '--auto-switch'])), colour: 'green' });
  // Keep the load going after the last command: at least 1,000 requests checked against the final colour.
  await keepLoading(load);
  const totals = await load.stop();

  t.diagnostic(
    `sent ${totals.sent} in ${totals.ms} ms, failed ${totals.failed}, by colour ${JSON.stringify(totals.byColour)}`,
  );
  assert.ok(totals.sent >= 3000, `sent ${totals.sent}`);
  assert.equal(totals.failed, 0, `failed: ${JSON.stringify(totals.errors)}`);
  const checked = assertFollowsMarks(totals, marks);
  assert.ok(checked >= 1000, `only ${checked} requests were checked`);
  // Both colours' upstreams existed from init on: no deploy or switch rewrote (reloaded) nginx.
  assert.equal(await p.file('.switchyard/nginx/nginx.conf'), conf);
});
