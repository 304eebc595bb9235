/**
 * The systemd unit of `switchyard service install` (src/run/service/unit.ts): its text for the process and
 * Docker runtimes, system and user units, env files and a project path with a space; then each variant
 * checked by systemd's own parser, `systemd-analyze verify`, which must accept it without a word.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadedConfig } from '../../src/config/loaded.ts';
import { isSwitchyardError } from '../../src/errors.ts';
import { shellVariables } from '../../src/run/service/shell-vars.ts';
import {
  renderUnit,
  unitDifferences,
  unitEnvFiles,
  unitName,
  unitProjectDir,
  type UnitSpec,
} from '../../src/run/service/unit.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// Real paths: systemd-analyze verify refuses an ExecStart= program that does not exist.
const SCRIPT = path.join(ROOT, 'src', 'cli', 'main.ts');

function spec(over: Partial<UnitSpec> = {}): UnitSpec {
  return {
    app: 'shop',
    projectDir: '/srv/shop',
    configFile: '/srv/shop/switchyard.yml',
    node: process.execPath,
    execArgv: [],
    script: SCRIPT,
    runtimeKind: 'process',
    usesDockerProxy: false,
    user: false,
    envFiles: [],
    path: '/usr/local/bin:/usr/bin:/bin',
    ...over,
  };
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

test('process runtime, system unit: up --foreground with absolute paths, restarts, KillMode=process', () => {
  const text = renderUnit(spec());
  assert.equal(unitName('shop'), 'switchyard-shop.service');
  assert.deepEqual(lines(text), [
    '[Unit]',
    'Description=switchyard supervisor of shop (/srv/shop)',
    'Wants=network-online.target',
    'After=network-online.target',
    'StartLimitIntervalSec=0',
    '[Service]',
    'Type=simple',
    'WorkingDirectory=/srv/shop',
    `ExecStart=${process.execPath} ${SCRIPT} --config /srv/shop/switchyard.yml up --foreground`,
    'Environment=PATH=/usr/local/bin:/usr/bin:/bin',
    'Restart=always',
    'RestartSec=2',
    'KillMode=process',
    '[Install]',
    'WantedBy=multi-user.target',
  ]);
  assert.match(text, /^# KillMode=process: stopping or restarting this unit signals the supervisor only/m);
  assert.doesNotMatch(text, /docker\.service/);
});

test('docker runtime (or nginx in a container): the system unit needs docker.service', () => {
  for (const s of [spec({ runtimeKind: 'docker' }), spec({ usesDockerProxy: true })]) {
    const l = lines(renderUnit(s));
    assert.ok(l.includes('After=docker.service'), l.join('\n'));
    assert.ok(l.includes('Requires=docker.service'), l.join('\n'));
  }
});

test('user unit: default.target, and no order against system units it cannot see', () => {
  const l = lines(renderUnit(spec({ user: true, runtimeKind: 'docker' })));
  assert.ok(l.includes('WantedBy=default.target'));
  assert.ok(!l.includes('WantedBy=multi-user.target'));
  assert.ok(!l.some((x) => /docker\.service|network-online/.test(x)), l.join('\n'));
  assert.ok(l.includes('Restart=always'));
});

test('env files: one EnvironmentFile= each (the path only), read back by status', () => {
  const files = ['/etc/shop/boot.env', '/etc/shop/100%.env', '/etc/my shop/x.env'];
  const text = renderUnit(spec({ envFiles: files }));
  assert.deepEqual(
    lines(text).filter((l) => l.startsWith('EnvironmentFile=')),
    ['EnvironmentFile=/etc/shop/boot.env', 'EnvironmentFile=/etc/shop/100%%.env', 'EnvironmentFile=/etc/my shop/x.env'],
  );
  assert.deepEqual(unitEnvFiles(text), files);
  assert.ok(!lines(renderUnit(spec())).some((l) => l.startsWith('EnvironmentFile=')));
});

test('a project path with a space, % and $: quoted and escaped as systemd reads them', () => {
  const dir = '/srv/my shop/100%$HOME';
  const text = renderUnit(spec({ projectDir: dir, configFile: `${dir}/switchyard.yml`, path: '/opt/a b:/usr/bin' }));
  const l = lines(text);
  assert.ok(l.includes('WorkingDirectory=/srv/my shop/100%%$HOME'), l.join('\n'));
  assert.ok(
    l.includes(
      `ExecStart=${process.execPath} ${SCRIPT} --config "/srv/my shop/100%%$$HOME/switchyard.yml" up --foreground`,
    ),
    l.join('\n'),
  );
  assert.ok(l.includes('Environment="PATH=/opt/a b:/usr/bin"'), l.join('\n'));
  assert.equal(unitProjectDir(text), dir);
});

test('a path systemd cannot hold (a newline, relative) is refused, naming it', () => {
  for (const projectDir of ['/srv/a\nb', 'srv/shop', '/srv/shop ']) {
    assert.throws(
      () => renderUnit(spec({ projectDir })),
      (e) => isSwitchyardError(e) && e.exitCode === 2 && e.message.includes(JSON.stringify(projectDir)),
    );
  }
});

test('differences: the lines only in one of the two texts', () => {
  const a = renderUnit(spec());
  const b = renderUnit(spec({ path: '/usr/bin' }));
  assert.deepEqual(unitDifferences(a, a), []);
  assert.deepEqual(unitDifferences(a, b), [
    '- Environment=PATH=/usr/local/bin:/usr/bin:/bin',
    '+ Environment=PATH=/usr/bin',
  ]);
});

test('shell variables: those the config uses that no env file provides', async (t) => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-svc-vars-'));
  t.after(() => fs.rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'switchyard.yml');
  await fs.writeFile(file, 'app: "${APP}"\nx: "${PORT} ${FROM_FILE} ${GIVEN} ${UNSET:-d} ${PATH}"\n# ${COMMENT}\n');
  await fs.writeFile(path.join(dir, '.env'), 'FROM_FILE=1\n');
  await fs.writeFile(path.join(dir, 'boot.env'), 'GIVEN=secret-value\n');
  const loaded = { file, projectDir: dir, config: { env_file: '.env' } } as unknown as LoadedConfig;
  const env = { APP: 'a', PORT: '1', FROM_FILE: '2', GIVEN: '3', PATH: '/bin' };
  assert.deepEqual(await shellVariables(loaded, [], env), ['APP', 'GIVEN', 'PORT']);
  assert.deepEqual(await shellVariables(loaded, [path.join(dir, 'boot.env')], env), ['APP', 'PORT']);
});

/** `systemd-analyze [--user] verify FILE`: its exit code and what it printed. */
function verify(file: string, user: boolean, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const args = [...(user ? ['--user'] : []), 'verify', file];
    execFile('systemd-analyze', args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

test('systemd-analyze verify accepts every variant, system and user', async (t) => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-svc-verify-'));
  t.after(() => fs.rm(tmp, { recursive: true, force: true }));
  const project = path.join(tmp, 'my project');
  await fs.mkdir(project);
  const envFile = path.join(tmp, 'boot.env');
  await fs.writeFile(envFile, 'PORT=8080\n');
  // `--user` verify sets up a user manager, which needs a runtime folder (XDG_RUNTIME_DIR, mode 0700):
  // without one (no login session here) it fails before reading the unit ("Failed to lookup
  // RuntimeDirectory path"). A temp folder gives it one; the unit is checked the same way. Nothing
  // else is filtered: any output at all fails the test.
  const runtimeDir = path.join(tmp, 'runtime');
  await fs.mkdir(runtimeDir, { mode: 0o700 });
  const env = { ...process.env, XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_LOG_COLOR: '0' };
  const base = { projectDir: project, configFile: path.join(project, 'switchyard.yml'), envFiles: [envFile] };
  for (const user of [false, true])
    for (const runtimeKind of ['process', 'docker'] as const) {
      const dir = path.join(tmp, `${user ? 'user' : 'system'}-${runtimeKind}`);
      await fs.mkdir(dir);
      const file = path.join(dir, unitName('shop'));
      await fs.writeFile(file, renderUnit(spec({ ...base, user, runtimeKind })));
      const r = await verify(file, user, env);
      assert.deepEqual(r, { code: 0, out: '' }, `${user ? '--user ' : ''}verify of the ${runtimeKind} unit`);
    }
});

test('systemd-analyze verify is a real check: it fails a unit with a missing program or an unknown key', async (t) => {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-svc-verify-bad-'));
  t.after(() => fs.rm(tmp, { recursive: true, force: true }));
  const missing = path.join(tmp, 'missing.service');
  await fs.writeFile(missing, renderUnit(spec({ node: path.join(tmp, 'no-such-node') })));
  const r1 = await verify(missing, false, process.env);
  assert.notEqual(r1.code, 0, r1.out);
  assert.match(r1.out, /no-such-node/);
  const unknown = path.join(tmp, 'unknown.service');
  await fs.writeFile(unknown, renderUnit(spec()).replace('KillMode=process', 'KillMode=process\nKilMode=none'));
  const r2 = await verify(unknown, false, process.env);
  assert.match(r2.out, /Unknown key 'KilMode'/);
});
