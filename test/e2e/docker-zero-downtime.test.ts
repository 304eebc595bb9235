/**
 * Zero downtime with the guide's production shape: containers per colour and nginx in its own
 * container, under a 16-connection keep-alive load through a deploy, 10 switches and a rollback.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startLoad } from '../../src/load/load.ts';
import { makeDockerProject, type DockerE2e } from '../helpers/docker-project.ts';
import { assertFollowsMarks, deployThenSwitch, keepLoading, type Mark } from '../helpers/switch-marks.ts';
import { budget } from '../helpers/budget.ts';

const app = `syzdt${process.pid}`;
let p: DockerE2e;

before(async () => {
  p = await makeDockerProject({ app, sharedDb: false });
  const yml = path.join(p.dir, 'switchyard.yml');
  await fs.writeFile(
    yml,
    (await fs.readFile(yml, 'utf8')).replace(
      '  mode: host\n',
      '  mode: container\n  image: switchyard/base:bookworm\n',
    ),
  );
  const init = await p.cli(['init']);
  assert.equal(init.code, 0, init.out);
}, budget(20_000));
after(async () => {
  if (p) await p.cleanup();
}, budget(10_000));

async function ok(args: string[]) {
  const start = Date.now();
  const r = await p.cli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.out}`);
  return { start, end: Date.now() };
}

test('container nginx under load: deploy, 10 switches and a rollback fail no request', budget(51_700), async (t) => {
  const load = startLoad({
    origin: `http://127.0.0.1:${p.port}`,
    path: '/api/health',
    connections: 16,
    maxRequests: 400_000,
    maxMs: 240_000,
  });
  while (load.sent < 300) await new Promise((r) => setTimeout(r, 20));
  await fs.writeFile(path.join(p.root, 'app', 'api', 'VERSION'), '2.0.0\n');
  const marks: Mark[] = await deployThenSwitch(ok, 10);
  marks.push({ ...(await ok(['rollback', '--force'])), colour: 'blue' });
  // Keep the load going after the last command: at least 1,000 requests checked against the final colour.
  await keepLoading(load);
  const totals = await load.stop();
  t.diagnostic(
    `sent ${totals.sent} in ${totals.ms} ms, failed ${totals.failed}, by colour ${JSON.stringify(totals.byColour)}`,
  );
  assert.ok(totals.sent >= 3000, `sent ${totals.sent}`);
  assert.equal(totals.failed, 0, `failed: ${JSON.stringify(totals.errors)}`);
  assert.ok(assertFollowsMarks(totals, marks) >= 1000);
});
