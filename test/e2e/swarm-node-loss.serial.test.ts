/**
 * A worker lost on the real test swarm (issue 13; scripts/swarm-infra.sh). Serial: it stops a
 * node's engine, which every other swarm test would feel. The api runs 2 replicas on the workers
 * (node.role==worker), blue kept warm after a deploy to green (deploy.keepOldFor). Under a bounded
 * keep-alive load on the manager's and the other worker's published ports, sysw-n3's engine is
 * stopped (SIGTERM to its dockerd, as a shutdown does): not one request on those ports fails, Swarm
 * puts the lost tasks on sysw-n2, and `status` names sysw-n3's proxy as not reached. A switch is
 * then refused naming sysw-n3 (exit 1, every node still on green); with --force it switches the
 * nodes that answer. The engine is started again (always, in `after`); the next command brings
 * sysw-n3's proxy in line with the others.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { budget } from '../helpers/budget.ts';
import { ROOT } from '../helpers/project.ts';
import {
  cleanupSwarmApp,
  managerClient,
  NODE_ADDR,
  startNodeLoad,
  runCli,
  makeSwarmApp,
  swarmConfig,
} from '../helpers/swarm.ts';

const APP = `syloss${randomBytes(3).toString('hex')}`;
const PORT = 20_000 + Math.floor(Math.random() * 10_000);
const PIDFILE = '/run/sysw/n3.pid';
let dir: string;
let stopped = false;

const CONFIG = swarmConfig({
  app: APP,
  port: PORT,
  constraints: '[node.role==worker]',
  deploy: '  drainTimeout: 5s\n  keepOldFor: 5m',
});

const cli = (args: string[], timeoutMs?: number) => runCli(dir, args, timeoutMs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function colourAt(n: number): Promise<string | null> {
  const res = await fetch(`http://${NODE_ADDR(n)}:${PORT}/`);
  await res.body?.cancel();
  return res.headers.get('x-switchyard-env');
}

/** The api tasks of `colour` the manager means to run: node names and states. */
async function apiTasks(colour: string): Promise<{ node: string; state: string }[]> {
  const m = await managerClient();
  const nodes = new Map(
    ((await m.listNodes()) as { ID: string; Description: { Hostname: string } }[]).map((x) => [
      x.ID,
      x.Description.Hostname,
    ]),
  );
  const tasks = (await m.listTasks({
    filters: { service: [`${APP}_api_${colour}`], 'desired-state': ['running'] },
  })) as { NodeID: string; Status: { State: string } }[];
  return tasks.map((t) => ({ node: nodes.get(t.NodeID) ?? t.NodeID, state: t.Status.State }));
}

function startNode3(): void {
  execFileSync('bash', [path.join(ROOT, 'scripts', 'swarm-infra.sh'), 'up'], { stdio: 'ignore', timeout: 120_000 });
}

before(async () => {
  await managerClient();
  dir = await makeSwarmApp('sy-swarm-loss-');
  await fs.writeFile(path.join(dir, 'switchyard.yml'), CONFIG);
  const init = await cli(['init']);
  assert.equal(init.code, 0, init.out);
  await fs.writeFile(path.join(dir, 'api', 'VERSION'), 'v2\n');
  const deploy = await cli(['deploy', '--auto-switch']);
  assert.equal(deploy.code, 0, deploy.out);
}, budget(60_000));

after(async () => {
  if (stopped) startNode3();
  // The node is back: its tasks of this app leave with the services.
  if (dir) await cli(['down'], 120_000).catch(() => undefined);
  await cleanupSwarmApp(APP);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}, budget(60_000));

describe('swarm: a worker lost', () => {
  it(
    'the other nodes serve without a failure, Swarm moves the tasks, status names the node',
    budget(60_000),
    async () => {
      const blue = await apiTasks('blue');
      assert.ok(
        blue.some((t) => t.node === 'sysw-n3'),
        `a blue task runs on sysw-n3 (kept warm): ${JSON.stringify(blue)}`,
      );
      const loads = [1, 2].map((n) =>
        startNodeLoad(`http://${NODE_ADDR(n)}:${PORT}`, {
          path: '/',
          connections: 2,
          maxRequests: 40_000,
          maxMs: 90_000,
        }),
      );
      await sleep(1_000);
      const pid = Number((await fs.readFile(PIDFILE, 'utf8')).trim());
      stopped = true;
      process.kill(pid, 'SIGTERM');
      const t0 = performance.now();
      let moved = -1;
      while (performance.now() - t0 < 75_000) {
        const green = await apiTasks('green');
        const running = green.filter((t) => t.state === 'running' && t.node !== 'sysw-n3');
        if (running.length === 2) {
          moved = Math.round(performance.now() - t0);
          break;
        }
        await sleep(500);
      }
      await sleep(1_000);
      const totals = await Promise.all(loads.map((l) => l.stop()));
      console.log(
        `# sysw-n3's engine stopped: green's tasks running elsewhere after ${moved} ms; ` +
          totals.map((t, i) => `node ${i + 1}: ${t.sent} sent, ${t.failed} failed`).join('; '),
      );
      for (const [i, t] of totals.entries())
        assert.equal(t.failed, 0, `node ${i + 1}: ${t.failed} failed ${JSON.stringify(t.errors)}`);
      assert.ok(moved >= 0, 'Swarm ran both green tasks on the other worker');

      const s = await cli(['status']);
      assert.match(s.out, /sysw-n3 +NOT reached/, s.out);
      assert.match(s.out, /sysw-n1 +sends traffic to green/, s.out);
    },
  );

  it('a switch is refused naming the node; --force switches the nodes that answer', budget(60_000), async () => {
    const refused = await cli(['switch', 'blue']);
    assert.equal(refused.code, 1, refused.out);
    assert.match(refused.out, /sysw-n3/, refused.out);
    assert.match(refused.out, /nothing was changed/, refused.out);
    assert.equal(await colourAt(1), 'green');
    assert.equal(await colourAt(2), 'green');

    const forced = await cli(['switch', 'blue', '--force']);
    assert.equal(forced.code, 0, forced.out);
    assert.match(forced.out, /sysw-n3 was not reached/, forced.out);
    assert.equal(await colourAt(1), 'blue');
    assert.equal(await colourAt(2), 'blue');
  });

  it('the node back, the next command brings its proxy in line', budget(60_000), async () => {
    startNode3();
    stopped = false;
    // Swarm starts the edge replica on sysw-n3 again, from its saved state (green).
    const t0 = performance.now();
    let seen: string | null = null;
    while (performance.now() - t0 < 60_000) {
      seen = await colourAt(3).catch(() => null);
      if (seen !== null) break;
      await sleep(500);
    }
    assert.equal(seen, 'green', 'sysw-n3 comes back with what it served before');
    const st = await cli(['status']);
    console.log(`# status once sysw-n3 answered again:\n${st.out.replace(/^/gm, '#   ')}`);
    const again = await cli(['switch', 'blue']);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /sysw-n3 routed to green, unlike the others/, again.out);
    for (const n of [1, 2, 3]) assert.equal(await colourAt(n), 'blue', `node ${n}`);
  });
});
