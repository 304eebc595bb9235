/**
 * Several instances per service on the Docker runtime (issue 12, part 2): the example api with
 * `instances: 2` runs as two containers per colour behind nginx (host mode); a crash of one (its
 * main process SIGKILLed from the host, as the OOM killer would) fails no request under a bounded
 * keep-alive load, and Docker's restart policy brings it back on the same port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { docker, makeDockerProject, type DockerE2e } from '../helpers/docker-project.ts';
import { startKeepAliveLoad } from '../helpers/kill-steps.ts';

const app = `syinst${process.pid}`;
let p: DockerE2e;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  p = await makeDockerProject({ app, sharedDb: false });
  const yml = path.join(p.dir, 'switchyard.yml');
  const text = await fs.readFile(yml, 'utf8');
  const api = /^ {4}port: 5000\n/m;
  assert.match(text, api, 'examples/docker/switchyard.yml: the api has "    port: 5000"');
  await fs.writeFile(
    yml,
    text.replace(api, (m) => `${m}    instances: 2\n`),
  );
  const init = await p.cli(['init', '--skip-tests']);
  assert.equal(init.code, 0, init.out);
}, budget(30_000));
after(async () => {
  await p?.cleanup();
}, budget(20_000));

const inspect = (name: string) =>
  JSON.parse(docker('inspect', name))[0] as { State: { Pid: number; Running: boolean }; RestartCount: number };

test(
  'two api containers per colour; one crashes under load: not one request fails, Docker restarts it',
  budget(20_000),
  async () => {
    assert.deepEqual(p.containers({ colour: 'blue' }), [
      `${app}-api-blue`,
      `${app}-api-blue-2`,
      `${app}-frontend-blue`,
    ]);
    const st = await p.cli(['health', 'blue']);
    assert.equal(st.code, 0, st.out);
    assert.match(st.out, /api \/api\/health on all 2 instances/);

    const victim = `${app}-api-blue-2`;
    const before = inspect(victim);
    const load = startKeepAliveLoad(`http://127.0.0.1:${p.port}`, {
      path: '/api/health',
      connections: 8,
      maxRequests: 20_000,
      maxMs: 15_000,
    });
    await sleep(500);
    process.kill(before.State.Pid, 'SIGKILL');
    const t0 = performance.now();
    let now = before;
    while (performance.now() - t0 < 10_000) {
      now = inspect(victim);
      if (now.State.Running && now.State.Pid !== before.State.Pid) break;
      await sleep(100);
    }
    const back = Math.round(performance.now() - t0);
    // Serving again (health level 3 on both instances), under the load.
    const h = await p.cli(['health', 'blue', '--timeout', '10']);
    await sleep(300);
    const totals = await load.stop();
    console.log(
      `# docker: SIGKILL of ${victim}'s main process: running again after ${back} ms (restart ${now.RestartCount});` +
        ` load through nginx: ${totals.sent} sent, ${totals.failed} failed ${JSON.stringify(totals.errors)}`,
    );
    assert.ok(now.State.Running && now.State.Pid !== before.State.Pid, 'Docker started it again');
    assert.equal(now.RestartCount, before.RestartCount + 1);
    assert.equal(h.code, 0, h.out);
    assert.ok(totals.ok > 200, `enough requests: ${totals.ok}`);
    assert.equal(totals.failed, 0, `failed: ${JSON.stringify(totals.errors)}`);
  },
);
