/**
 * Blue-green on the real three-node test swarm (issue 13; scripts/swarm-infra.sh), one test body
 * run against each edge proxy (e2e/swarm-cycle: the built-in one; e2e/swarm-cycle-nginx: nginx):
 * a project with `runtime: swarm`, one api service of 2 replicas built here and pushed to the
 * swarm's registry, the proxy as the edge service on every node (host-mode port). Under a bounded
 * keep-alive load against the published port of EVERY node: init, a deploy, a canary step, a
 * rollback, each with 0 failed requests, and on each node every request sent after that node first
 * answered from the new colour answered from the new colour. Fails, never skips, when the swarm is not up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { budget } from './budget.ts';
import {
  cleanupSwarmApp,
  edgeOrigins,
  managerClient,
  NODES,
  startNodeLoad,
  runCli,
  makeSwarmApp,
  swarmConfig,
} from './swarm.ts';

export interface SwarmCycleOptions {
  proxy: 'builtin' | 'nginx';
  /** Called after init and again at the end, with the CLI's project folder (nginx: no reload). */
  edgeSnapshot?: (app: string) => string;
}

export function describeSwarmCycle(o: SwarmCycleOptions): void {
  const APP = `sysw${randomBytes(3).toString('hex')}`;
  const PORT = 20_000 + Math.floor(Math.random() * 10_000);
  let dir: string;

  const CONFIG = swarmConfig({
    app: APP,
    port: PORT,
    proxy: o.proxy,
    deploy: '  drainTimeout: 5s\n  keepOldFor: 5m',
    extra: 'checks:\n  smoke:\n    - { name: answers, request: { path: / }, expect: { status: 200 } }',
  });

  const cli = (args: string[], timeoutMs?: number) => runCli(dir, args, timeoutMs);

  async function setVersion(v: string): Promise<void> {
    await fs.writeFile(path.join(dir, 'api', 'VERSION'), `${v}\n`);
  }

  /** Runs `args` while every node's published port is under load; the loads' totals per node. */
  async function underLoad(args: string[]) {
    const loads = edgeOrigins(PORT).map((o) =>
      startNodeLoad(o, { path: '/', connections: 2, maxRequests: 40_000, maxMs: 200_000 }),
    );
    const run = await cli(args);
    await new Promise((r) => setTimeout(r, 500));
    const totals = await Promise.all(loads.map((l) => l.stop()));
    return { run, totals };
  }

  /** No request sent after the node first answered from `to` was answered by another colour. */
  function assertSwitchedCleanly(totals: Awaited<ReturnType<typeof underLoad>>['totals'], to: string) {
    for (const [i, t] of totals.entries()) {
      const first = t.samples.filter((s) => s.colour === to).sort((a, b) => (a.end ?? 0) - (b.end ?? 0))[0];
      assert.ok(first, `node ${NODES[i]} answered from ${to}`);
      const late = t.samples.filter((s) => s.at > (first.end ?? 0) && s.colour !== to);
      assert.equal(late.length, 0, `node ${NODES[i]}: ${late.length} requests after the switch not from ${to}`);
    }
  }

  /** After a command returned: every node answers from `colour` only. */
  async function allFrom(colour: string): Promise<void> {
    for (const origin of edgeOrigins(PORT))
      for (let i = 0; i < 20; i++) {
        const res = await fetch(origin);
        await res.body?.cancel();
        assert.equal(res.headers.get('x-switchyard-env'), colour, `${origin} request ${i + 1}`);
      }
  }

  function report(what: string, totals: Awaited<ReturnType<typeof underLoad>>['totals']): void {
    console.log(
      `# ${what}: ` +
        totals
          .map((t, i) => `node ${NODES[i]} ${t.sent} sent, ${t.failed} failed ${JSON.stringify(t.byColour)}`)
          .join('; '),
    );
    for (const [i, t] of totals.entries())
      assert.equal(t.failed, 0, `node ${NODES[i]}: ${t.failed} failed ${JSON.stringify(t.errors)}`);
  }

  before(async () => {
    await managerClient();
    dir = await makeSwarmApp('sy-swarm-e2e-');
    await fs.writeFile(path.join(dir, 'switchyard.yml'), CONFIG);
  }, budget(5_000));

  after(async () => {
    if (dir) await cli(['down'], 120_000).catch(() => undefined);
    await cleanupSwarmApp(APP);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }, budget(30_000));

  let edgeAfterInit: string | undefined;

  describe(`swarm (${o.proxy} edge proxy): blue-green across three nodes under load`, () => {
    it('init starts the edge proxy on every node and blue behind it', budget(90_000), async () => {
      const r = await cli(['init']);
      assert.equal(r.code, 0, r.out);
      edgeAfterInit = o.edgeSnapshot?.(APP);
      for (const origin of edgeOrigins(PORT)) {
        const res = await fetch(origin);
        assert.equal(res.status, 200, origin);
        assert.equal(res.headers.get('x-switchyard-env'), 'blue', origin);
        assert.equal(((await res.json()) as { version: string }).version, 'v1');
      }
    });

    it('a deploy switches every node to green with 0 failed requests', budget(90_000), async () => {
      await setVersion('v2');
      const { run, totals } = await underLoad(['deploy', '--auto-switch']);
      assert.equal(run.code, 0, run.out);
      report('deploy blue -> green', totals);
      assertSwitchedCleanly(totals, 'green');
      await allFrom('green');
    });

    it('a canary step sends a share to blue on every node, then all of it', budget(90_000), async () => {
      await setVersion('v3');
      const { run, totals } = await underLoad(['deploy', '--auto-switch', '--canary', '30,100', '--step-wait', '3s']);
      assert.equal(run.code, 0, run.out);
      report('canary green -> blue (30%, 100%)', totals);
      for (const [i, t] of totals.entries()) assert.ok((t.byColour.blue ?? 0) > 0, `node ${NODES[i]} reached blue`);
      await allFrom('blue');
    });

    it('a split is sticky across nodes: a client gets the same colour on every node', budget(30_000), async () => {
      const r = await cli(['switch', 'green', '--weight', '30']);
      assert.equal(r.code, 0, r.out);
      const seen = { blue: 0, green: 0 } as Record<string, number>;
      for (let c = 0; c < 40; c++) {
        const cookie = `sy_canary=client-${c}`;
        const colours = new Set<string | null>();
        for (const origin of edgeOrigins(PORT)) {
          const res = await fetch(origin, { headers: { cookie } });
          await res.body?.cancel();
          colours.add(res.headers.get('x-switchyard-env'));
        }
        assert.equal(colours.size, 1, `${cookie}: ${[...colours].join(', ')} on the three nodes`);
        const [colour] = [...colours];
        seen[colour ?? 'none'] = (seen[colour ?? 'none'] ?? 0) + 1;
      }
      console.log(`# split 30% to green, 40 clients on three nodes: ${JSON.stringify(seen)}`);
      assert.ok(seen.green! > 0 && seen.blue! > 0, JSON.stringify(seen));
      const end = await cli(['switch', 'green', '--weight', '0']);
      assert.equal(end.code, 0, end.out);
      await allFrom('blue');
    });

    it('a rollback brings green back on every node with 0 failed requests', budget(90_000), async () => {
      const { run, totals } = await underLoad(['rollback', '--force']);
      assert.equal(run.code, 0, run.out);
      report('rollback blue -> green', totals);
      assertSwitchedCleanly(totals, 'green');
      await allFrom('green');
      const s = await cli(['status']);
      assert.equal(s.code, 0, s.out);
      assert.match(s.out, /proxy: +running on 3 edge node\(s\), sends traffic to green/, s.out);
      for (const n of NODES) assert.match(s.out, new RegExp(`sysw-n${n} +sends traffic to green`), s.out);
      assert.match(s.out, /api +running - running on sysw-n\d/, s.out);
      assert.match(s.out, /api\.2 +running - running on sysw-n\d/, s.out);
      const logs = await cli(['logs', 'green']);
      assert.equal(logs.code, 0, logs.out);
      assert.match(logs.out, /^api +\| listening as instance 1 v2$/m, logs.out);
      assert.match(logs.out, /^api\.2 +\| listening as instance 2 v2$/m, logs.out);
    });

    if (o.edgeSnapshot)
      it('the edge proxies were never reloaded or restarted through all of it', () => {
        assert.equal(o.edgeSnapshot!(APP), edgeAfterInit);
      });
  });
}
