/**
 * Failure on the real test swarm (issue 13; scripts/swarm-infra.sh). After a good init (blue live
 * behind the edge proxy on every node), deploys that must fail before any traffic moves: a config
 * with `instances: 0`, a manager that does not answer, a registry that refuses the push, a
 * constraint no node meets. Each exits non-zero with a clear message, and leaves the swarm as it
 * was: the same services, blue serving on every node, state.json unchanged. Then the CLI is
 * SIGKILLed in the middle of a deploy (green's service created): `status` explains, `recover`
 * converges (green removed, blue serving), and a deploy afterwards works. Fails, never skips, when
 * the swarm is not up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { budget } from '../helpers/budget.ts';
import { CLI } from '../helpers/project.ts';
import { cleanupSwarmApp, edgeOrigins, managerClient, runCli, makeSwarmApp, swarmConfig } from '../helpers/swarm.ts';

const APP = `syfail${randomBytes(3).toString('hex')}`;
const PORT = 20_000 + Math.floor(Math.random() * 10_000);
let dir: string;

interface Knobs {
  port?: number;
  manager?: string;
  registry?: string;
  constraints?: string;
  instances?: number;
}

const config = (k: Knobs = {}) =>
  swarmConfig({
    app: APP,
    port: k.port ?? PORT,
    instances: k.instances ?? 1,
    stopTimeout: '3s',
    deploy: '  drainTimeout: 3s',
    ...(k.manager ? { manager: k.manager } : {}),
    ...(k.registry ? { registry: k.registry } : {}),
    ...(k.constraints ? { constraints: k.constraints } : {}),
  });

/** The error line a failed command printed, for the test's output. */
const said = (what: string, out: string) =>
  console.log(`# ${what}: ${out.split('\n').find((l) => l.startsWith('✗')) ?? out.split('\n')[0]}`);

const cli = (args: string[], timeoutMs?: number) => runCli(dir, args, timeoutMs);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function services(): Promise<string[]> {
  const m = await managerClient();
  const list = (await m.listServices({ filters: { label: [`switchyard.app=${APP}`] } })) as {
    Spec: { Name: string };
  }[];
  return list.map((s) => s.Spec.Name).sort();
}

const stateFile = () => fs.readFile(path.join(dir, '.switchyard', 'state.json'), 'utf8');

/** Blue answers on every node, the swarm holds exactly blue and the edge, state.json is as it was. */
async function unchanged(state: string): Promise<void> {
  assert.deepEqual(await services(), [`${APP}_api_blue`, `${APP}_edge`]);
  for (const origin of edgeOrigins(PORT)) {
    const res = await fetch(origin);
    await res.body?.cancel();
    assert.equal(res.headers.get('x-switchyard-env'), 'blue', origin);
  }
  assert.equal(await stateFile(), state, 'state.json unchanged');
}

async function withConfig(k: Knobs): Promise<void> {
  await fs.writeFile(path.join(dir, 'switchyard.yml'), config(k));
}

before(async () => {
  await managerClient();
  dir = await makeSwarmApp('sy-swarm-fail-');
  await withConfig({});
  const init = await cli(['init']);
  assert.equal(init.code, 0, init.out);
}, budget(40_000));

after(async () => {
  if (dir) {
    await withConfig({});
    await cli(['down'], 120_000).catch(() => undefined);
  }
  await cleanupSwarmApp(APP);
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}, budget(30_000));

describe('swarm: deploys that fail change nothing', () => {
  it('instances: 0 is a config error', budget(10_000), async () => {
    const state = await stateFile();
    await withConfig({ instances: 0 });
    const r = await cli(['deploy', '--auto-switch']);
    said('instances 0', r.out);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /services\.api\.instances/, r.out);
    await unchanged(state);
  });

  it('a manager that does not answer', budget(10_000), async () => {
    const state = await stateFile();
    await withConfig({ manager: 'unix:///run/sysw/nope.sock' });
    const r = await cli(['deploy', '--auto-switch']);
    said('manager', r.out);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /cannot reach the swarm manager at unix:\/\/\/run\/sysw\/nope\.sock/, r.out);
    await withConfig({});
    await unchanged(state);
  });

  it('a registry that refuses the push', budget(20_000), async () => {
    const state = await stateFile();
    await fs.writeFile(path.join(dir, 'api', 'VERSION'), 'v2\n');
    await withConfig({ registry: '10.77.0.1:1' });
    const r = await cli(['deploy', '--auto-switch']);
    said('registry', r.out);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /push/i, r.out);
    assert.match(r.out, /10\.77\.0\.1:1/, r.out);
    await withConfig({});
    await unchanged(state);
  });

  it('a constraint no node meets', budget(30_000), async () => {
    const state = await stateFile();
    await withConfig({ constraints: '[node.labels.nowhere==true]' });
    const r = await cli(['deploy', '--auto-switch']);
    said('constraint', r.out);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /no suitable node/, r.out);
    await withConfig({});
    await unchanged(state);
  });

  it('a proxy port changed since the edge proxy was made', budget(10_000), async () => {
    const state = await stateFile();
    await withConfig({ port: PORT + 1 });
    const r = await cli(['deploy', '--auto-switch']);
    said('port changed', r.out);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`publishes port\\(s\\) ${PORT}, but the config says ${PORT + 1}`), r.out);
    await withConfig({});
    await unchanged(state);
  });

  it('the CLI killed mid-deploy: status explains, recover converges', budget(60_000), async () => {
    const state = await stateFile();
    await fs.writeFile(path.join(dir, 'api', 'VERSION'), 'v3\n');
    const child = spawn(process.execPath, [CLI, 'deploy', '--auto-switch'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.on('close', r));
    const t0 = performance.now();
    while (performance.now() - t0 < 120_000 && !(await services()).includes(`${APP}_api_green`)) await sleep(100);
    assert.ok((await services()).includes(`${APP}_api_green`), 'the deploy created green');
    child.kill('SIGKILL');
    await exited;

    const s = await cli(['status']);
    assert.match(s.out, /interrupted|recover/i, s.out);
    const rec = await cli(['recover']);
    assert.equal(rec.code, 0, rec.out);
    await unchanged(state);

    const again = await cli(['deploy', '--auto-switch']);
    assert.equal(again.code, 0, again.out);
    for (const origin of edgeOrigins(PORT)) {
      const res = await fetch(origin);
      await res.body?.cancel();
      assert.equal(res.headers.get('x-switchyard-env'), 'green', origin);
    }
  });
});
