/**
 * `switchyard up` after a simulated reboot on the Docker runtime with nginx on the host (issue 12,
 * part 4): the supervisor and nginx SIGKILLed, the app's containers killed (`docker kill`: Docker
 * does not restart what was killed by hand, so nothing comes back on its own), then `up` starts
 * nginx on its saved routing in maintenance and the live release's containers behind it: refused,
 * then 503, then 200, never 502. state.json and .current-env stay byte for byte the same; a second
 * `up` has nothing to do.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { budget } from '../helpers/budget.ts';
import { makeDockerProject, type DockerE2e } from '../helpers/docker-project.ts';
import { pollStatuses, reboot, runs } from '../helpers/reboot.ts';

const app = `syup${process.pid}`;
let p: DockerE2e;

before(async () => {
  p = await makeDockerProject({ app, sharedDb: false });
}, budget(1_000));
after(async () => {
  if (p) await p.cleanup();
}, budget(10_000));

test(
  'docker + nginx: a simulated reboot, then up: blue serves again, 503 meanwhile, state untouched',
  budget(30_000),
  async () => {
    const init = await p.cli(['init']);
    assert.equal(init.code, 0, init.out);
    const state = await p.file('.switchyard/state.json');
    const currentEnv = await p.file('.current-env');
    await reboot(p.dir, { dockerApp: app });
    assert.deepEqual(p.containers({ colour: 'blue' }), [], 'no container of blue runs');
    const polling = pollStatuses(() => p.get('/api/health').then((x) => x.status), 120_000);
    const r = await p.cli(['up']);
    const seen = runs(await polling.stop());
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /✓ Up: started the proxy; started blue; blue serves release /);
    console.log(`# docker + nginx: statuses seen through the public port during up: ${seen}`);
    assert.match(seen, /^(0 )?(503 )?200$/, `refused before nginx runs, then 503 (never 502), then 200: ${seen}`);
    assert.equal((await p.get('/api/health')).colour, 'blue');
    assert.equal(await p.file('.switchyard/state.json'), state, 'state.json byte for byte');
    assert.equal(await p.file('.current-env'), currentEnv, '.current-env byte for byte');
    const again = await p.cli(['up']);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /✓ Nothing to do: blue serves release /);
  },
);
