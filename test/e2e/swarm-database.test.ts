/**
 * The guide's topology on the real test swarm (issue 13, part 7): the example of examples/docker
 * (API + frontend + a shared PostgreSQL, backups with pg_dump) with `runtime: swarm`. The config
 * is the example's file with the swarm changes only (the diff docs/swarm.md shows): the runtime
 * and its section, the database pinned to sysw-n2 (`shared.db.node`, its volume lives there), and
 * nginx without `mode` (it runs in the edge service on every node). The example's migrate hook
 * stays as it is: it runs as a one-off task of green's api. The api reaches `db` by name on the
 * overlay. A deploy under load on every node fails no request, backs the database up first (this
 * machine's pg_dump through the tunnel to the db task), runs the migration, and a user signed in
 * on blue is still signed in on green: one database for both colours. Fails, never skips, when the
 * swarm is not up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { budget } from '../helpers/budget.ts';
import { copyDockerExample } from '../helpers/docker-project.ts';
import {
  cleanupSwarmApp,
  edgeOrigins,
  managerClient,
  onNode,
  REGISTRY,
  runCli,
  SOCK,
  startNodeLoad,
} from '../helpers/swarm.ts';

const APP = `sydb${randomBytes(3).toString('hex')}`;
const PORT = 20_000 + Math.floor(Math.random() * 10_000);
let root: string;
let dir: string;
const cli = (args: string[], timeoutMs?: number) => runCli(dir, args, timeoutMs);

async function post(origin: string, p: string, json: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${origin}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(json),
  });
  return { status: res.status, colour: res.headers.get('x-switchyard-env'), body: (await res.json()) as never };
}

before(async () => {
  await managerClient();
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-swarm-db-'));
  dir = await copyDockerExample(root);
  const yml = path.join(dir, 'switchyard.yml');
  const c = parse(await fs.readFile(yml, 'utf8')) as {
    app: string;
    runtime: string;
    swarm?: unknown;
    proxy: { kind: string; mode?: string; routes: unknown; listen?: unknown };
    shared: { db: { node?: string } };
    deploy: { hooks: { migrate: { service?: string } } };
  };
  assert.equal(c.proxy.kind, 'nginx');
  assert.equal(c.deploy.hooks.migrate.service, 'api');
  c.app = APP;
  c.runtime = 'swarm';
  c.swarm = { manager: `unix://${SOCK(1)}`, registry: REGISTRY, edge: { base: 'switchyard/base:bookworm' } };
  delete c.proxy.mode;
  c.proxy.listen = { http: PORT, host: '0.0.0.0' };
  c.shared.db.node = 'sysw-n2';
  await fs.writeFile(yml, stringify(c));
  const init = await cli(['init']);
  assert.equal(init.code, 0, init.out);
}, budget(60_000));

after(async () => {
  if (dir) await cli(['down', '--shared'], 120_000).catch(() => undefined);
  await cleanupSwarmApp(APP);
  onNode(2, ['volume', 'rm', '-f', `${APP}-pgdata`], true);
  if (root) await fs.rm(root, { recursive: true, force: true });
}, budget(30_000));

describe('swarm: the guide example with its PostgreSQL as a pinned Swarm service', () => {
  it('the database runs on its node; status shows it', budget(10_000), async () => {
    const s = await cli(['status']);
    assert.equal(s.code, 0, s.out);
    assert.match(s.out, /shared db +running - running on sysw-n2/, s.out);
  });

  it('a deploy under load backs up first, fails no request, and keeps users signed in', budget(90_000), async () => {
    const [origin] = edgeOrigins(PORT);
    const code = await post(origin!, '/api/auth/request-code', { email: 'swarm@example.com' });
    assert.equal(code.status, 200, JSON.stringify(code.body));
    const login = await post(origin!, '/api/auth/verify', {
      email: 'swarm@example.com',
      code: (code.body as { devCode: string }).devCode,
    });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    assert.equal(login.colour, 'blue');
    const token = (login.body as { token: string }).token;

    const loads = edgeOrigins(PORT).map((o) =>
      startNodeLoad(o, { path: '/api/health', connections: 2, maxRequests: 40_000, maxMs: 200_000 }),
    );
    const deploy = await cli(['deploy', '--auto-switch']);
    await new Promise((r) => setTimeout(r, 500));
    const totals = await Promise.all(loads.map((l) => l.stop()));
    console.log(
      `# guide example on swarm, deploy blue -> green: ` +
        totals.map((t, i) => `node ${i + 1} ${t.sent} sent, ${t.failed} failed`).join('; '),
    );
    assert.equal(deploy.code, 0, deploy.out);
    assert.match(deploy.out, /Backing up database.*✓/, deploy.out);
    assert.match(deploy.out, /Running database migration.*✓.*`node migrate\.mjs` in api \(green\)/, deploy.out);
    for (const [i, t] of totals.entries())
      assert.equal(t.failed, 0, `node ${i + 1}: ${t.failed} failed ${JSON.stringify(t.errors)}`);

    const backups = await fs.readdir(path.join(dir, 'backups'));
    assert.ok(
      backups.some((f) => f.endsWith('.dump')),
      `a dump in backups/: ${backups.join(', ')}`,
    );
    const list = await cli(['backups']);
    assert.match(list.out, /verified/, list.out);

    for (const o of edgeOrigins(PORT)) {
      const me = await fetch(`${o}/api/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.headers.get('x-switchyard-env'), 'green', o);
      assert.equal(me.status, 200, `${o}: the token of a sign-in on blue works on green`);
      await me.body?.cancel();
    }
  });
});
