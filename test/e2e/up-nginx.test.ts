/**
 * `switchyard up` after a simulated reboot with nginx in front (issue 12, part 4): every process of
 * the project SIGKILLed (the supervisor, nginx's master and workers, the apps), then `up` starts
 * nginx on its saved routing (the colour a deploy switched to) in maintenance, the live release
 * behind it, and turns maintenance off once it is healthy: refused, then 503, then 200, never 502.
 * state.json and .current-env stay byte for byte the same; a second `up` has nothing to do.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { budget } from '../helpers/budget.ts';
import { makeProject } from '../helpers/project.ts';
import { pollStatuses, reboot, runs } from '../helpers/reboot.ts';

test(
  'nginx (host mode): a simulated reboot, then up: green serves again, 503 meanwhile, state untouched',
  budget(9_000),
  async () => {
    execFileSync('nginx', ['-v'], { stdio: 'pipe', timeout: 10_000 }); // fail, never skip, without nginx
    const p = await makeProject('fixture', { proxy: 'nginx' });
    try {
      let r = await p.run(['init', '--skip-tests']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      await p.setBehaviour({ version: 'v2', mode: 'ok' });
      r = await p.run(['deploy', '--auto-switch', '--skip-tests']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const state = await p.file('.switchyard/state.json');
      const currentEnv = await p.file('.current-env');
      await reboot(p.dir);
      const polling = pollStatuses(() => p.get('/api/echo').then((x) => x.status), 30_000);
      r = await p.run(['up']);
      const seen = runs(await polling.stop());
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /✓ Up: started the proxy; started green; green serves release /);
      console.log(`# nginx: statuses seen through the public port during up: ${seen}`);
      assert.match(seen, /^(0 )?(503 )?200$/, `refused before nginx runs, then 503 (never 502), then 200: ${seen}`);
      const res = await p.get('/api/echo');
      assert.deepEqual([res.status, res.colour, JSON.parse(res.body).version], [200, 'green', 'v2']);
      assert.equal(await p.file('.switchyard/state.json'), state, 'state.json byte for byte');
      assert.equal(await p.file('.current-env'), currentEnv, '.current-env byte for byte');
      const again = await p.run(['up']);
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /✓ Nothing to do: green serves release /);
    } finally {
      await p.cleanup();
    }
  },
);
