/**
 * From docker compose to a live blue-green deploy (issue 16): examples/compose copied with what it
 * references (../app, ../docker), `init --from-compose` writes switchyard.yml from its
 * docker-compose.yml, then the written file is used as it is: `init --plan`, `init` (shared
 * PostgreSQL, api + frontend on blue behind nginx on a free 127.0.0.1 port), `deploy --auto-switch`
 * of version 2.0.0 under a bounded keep-alive load through the proxy (not one request may fail),
 * `backups` lists the verified dump the deploy took, and `down`. Every Docker object named after
 * the app is removed at the end. The CLI's own checks (--force, --print, bad files) are in
 * test/integration/from-compose-cli.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { parse } from 'yaml';
import { startLoad } from '../../src/load/load.ts';
import { budget } from '../helpers/budget.ts';
import { copyDockerExample, docker } from '../helpers/docker-project.ts';
import { freePort, ROOT, runCli } from '../helpers/project.ts';
import { keepLoading } from '../helpers/switch-marks.ts';

const app = `syfc${process.pid}`;
const SECRET = `pw-${randomBytes(8).toString('hex')}`;
let root: string;
let dir: string;
let port: number;
/** The first test's conversion is what the others deploy: without it they fail at once. */
let converted = false;

interface Converted {
  app?: string;
  runtime?: string;
  proxy?: { routes?: Array<{ path: string; service: string }> };
  services?: Record<string, unknown>;
  shared?: Record<string, unknown>;
  backup?: unknown;
}

before(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-e2e-compose-'));
  await copyDockerExample(root);
  dir = path.join(root, 'compose');
  await fs.cp(path.join(ROOT, 'examples', 'compose'), dir, {
    recursive: true,
    filter: (s) => !/[/\\](\.switchyard|\.current-env|switchyard\.ya?ml)$/.test(s),
  });
  // A name of its own: every container, volume, image and network is named after it.
  const compose = path.join(dir, 'docker-compose.yml');
  const text = await fs.readFile(compose, 'utf8');
  assert.match(text, /^name: ala$/m, 'examples/compose/docker-compose.yml names its project "ala"');
  await fs.writeFile(compose, text.replace(/^name: ala$/m, `name: ${app}`));
  port = await freePort();
});

const lines = (s: string) => s.split('\n').filter(Boolean);

after(async () => {
  if (!dir) return;
  await cli(['down', '--shared', '--force-unlock'], 90_000);
  for (const c of lines(docker('ps', '-aq', '--filter', `name=${app}-`))) docker('rm', '-f', c);
  for (const v of lines(docker('volume', 'ls', '-q', '--filter', `name=${app}-`))) docker('volume', 'rm', v);
  for (const i of lines(docker('images', '--format', '{{.Repository}}:{{.Tag}}')))
    if (i.startsWith(`${app}-`)) docker('image', 'rm', '-f', i);
  for (const n of lines(docker('network', 'ls', '-q', '--filter', `name=${app}-`))) docker('network', 'rm', n);
  await fs.rm(root, { recursive: true, force: true });
}, budget(20_000));

/** The built CLI in the example's folder, no TTY, bounded; stdout and stderr together. */
async function cli(args: string[], timeoutMs = 240_000): Promise<{ code: number | null; out: string }> {
  const env = {
    ...process.env,
    SWITCHYARD_PORT: String(port),
    POSTGRES_PASSWORD: SECRET,
    FORCE_COLOR: '0',
    NO_COLOR: '1',
  };
  const r = await runCli(args, { cwd: dir, env, timeoutMs });
  const out = r.stdout + r.stderr;
  assert.ok(!out.includes(SECRET), `${args.join(' ')} printed the database password`);
  return { code: r.code, out };
}

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.code, 0, `${args.join(' ')}:\n${r.out}`);
  return r.out;
}

async function health(): Promise<{ environment: string; version: string; database: string }> {
  const res = await request(`http://127.0.0.1:${port}/api/health`, { headersTimeout: 5000, bodyTimeout: 5000 });
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as { environment: string; version: string; database: string };
}

test(
  'init --from-compose writes switchyard.yml from docker-compose.yml and deploys nothing',
  budget(2_000),
  async () => {
    const out = await ok(['init', '--from-compose']);
    assert.match(out, /^Wrote switchyard\.yml from docker-compose\.yml; nothing was deployed$/m);
    assert.match(out, /^ {2}docker-compose\.yml:\d+: /m, 'its decisions, as file:line');
    assert.match(out, /switchyard init --plan/);
    const text = await fs.readFile(path.join(dir, 'switchyard.yml'), 'utf8');
    const c = parse(text) as Converted;
    // What matters of examples/docker/switchyard.yml: the rest of this file runs the result as it is.
    assert.deepEqual(
      {
        app: c.app,
        runtime: c.runtime,
        routes: c.proxy?.routes?.map((r) => `${r.path} -> ${r.service}`),
        services: Object.keys(c.services ?? {}).sort(),
        shared: Object.keys(c.shared ?? {}),
        backup: c.backup,
      },
      {
        app,
        runtime: 'docker',
        routes: ['/api -> api', '/ -> frontend'],
        services: ['api', 'frontend'],
        shared: ['db'],
        backup: { kind: 'postgres', container: 'db' },
      },
      text,
    );
    assert.equal(docker('ps', '-aq', '--filter', `name=${app}-`), '', 'no container yet');
    converted = true;
  },
);

test('init --plan, then init: blue live through nginx, on the shared database', budget(30_000), async () => {
  assert.ok(converted, 'switchyard.yml was not converted as expected (first test)');
  assert.match(await ok(['init', '--plan']), /Plan for init/);
  await ok(['init']);
  const h = await health();
  assert.deepEqual([h.environment, h.database], ['blue', 'connected'], JSON.stringify(h));
});

test(
  'deploy --auto-switch under keep-alive load through the proxy: no request fails; backups lists its dump',
  budget(30_000),
  async (t) => {
    assert.ok(converted, 'switchyard.yml was not converted as expected (first test)');
    for (const svc of ['api', 'frontend']) await fs.writeFile(path.join(root, 'app', svc, 'VERSION'), '2.0.0\n');
    const load = startLoad({
      origin: `http://127.0.0.1:${port}`,
      path: '/api/health',
      connections: 8,
      maxRequests: 200_000,
      maxMs: 200_000,
    });
    while (load.sent < 300) await new Promise((r) => setTimeout(r, 20));
    const deployed = await cli(['deploy', '--auto-switch']);
    await keepLoading(load, { floor: 0, extra: 1000 });
    const totals = await load.stop();
    t.diagnostic(
      `load through nginx: sent ${totals.sent} in ${totals.ms} ms, failed ${totals.failed}, ` +
        `by colour ${JSON.stringify(totals.byColour)}`,
    );
    assert.equal(deployed.code, 0, deployed.out);
    assert.equal(totals.failed, 0, `failed: ${JSON.stringify(totals.errors)}`);
    assert.ok((totals.byColour.blue ?? 0) > 0 && (totals.byColour.green ?? 0) > 0, JSON.stringify(totals.byColour));
    const h = await health();
    assert.deepEqual([h.environment, h.version, h.database], ['green', '2.0.0', 'connected'], JSON.stringify(h));

    const events = lines(await ok(['backups', '--json'])).map((l) => JSON.parse(l) as Record<string, unknown>);
    const dumps = events.filter((e) => e.event === 'backup');
    assert.equal(dumps.length, 1, JSON.stringify(events));
    assert.equal(dumps[0]!.verified, true, 'read back after writing');
    assert.ok(Number(dumps[0]!.bytes) > 0);
    assert.match(String(dumps[0]!.deployId), /./, 'taken for the deploy');
  },
);

test('down stops the colours and the proxy', budget(10_000), async () => {
  await ok(['down']);
  const left = lines(docker('ps', '--format', '{{.Names}}', '--filter', `label=switchyard.app=${app}`));
  assert.ok(
    left.every((n) => !/-(api|frontend)-(blue|green)/.test(n)),
    `colour containers still running: ${left.join(', ')}`,
  );
  await assert.rejects(request(`http://127.0.0.1:${port}/`, { headersTimeout: 2000 }), 'the proxy is stopped');
});
