import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { makeRedactor } from '../../src/config/redact.ts';
import { SwitchyardError } from '../../src/errors.ts';

// The bad cases break the raw YAML tree at any depth, with wrong types and unknown keys on purpose:
// no type short of any lets them read and write it as plain objects.
// biome-ignore lint/suspicious/noExplicitAny: see above
type Obj = Record<string, any>;

/** A valid config; each bad case breaks one thing in a fresh copy. */
function base(): Obj {
  return {
    app: 'shop',
    proxy: {
      listen: { http: 8080 },
      routes: [
        { path: '/api', service: 'api' },
        { path: '/', service: 'web' },
      ],
    },
    services: {
      api: {
        command: 'node server.js',
        port: { blue: 5001, green: 5002 },
        env: { NODE_ENV: 'production' },
        health: { path: '/api/health', expect: { status: 200, json: { status: 'ok' } } },
      },
      web: {
        command: ['node', 'web.js'],
        port: { blue: 5011, green: 5012 },
        health: { path: '/', expect: { contentType: 'text/html' } },
      },
    },
    checks: {
      smoke: [
        {
          name: 'login',
          request: { method: 'POST', path: '/api/login', json: { u: 'a' } },
          capture: { token: '$.token' },
        },
        { name: 'me', request: { path: '/api/me', headers: { Authorization: 'Bearer {{token}}' } } },
      ],
    },
  };
}

const dirs: string[] = [];
process.on('exit', () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function project(text: string, files: Record<string, string> = {}, name = 'switchyard.yml'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sy-config-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, name), text);
  for (const [f, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), body);
  }
  return dir;
}

async function failure(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SwitchyardError, `expected a SwitchyardError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected loadConfig to fail');
}

interface BadCase {
  name: string;
  edit?: (c: Obj) => void;
  yaml?: string;
  files?: Record<string, string>;
  env?: Record<string, string>;
  path: string;
  match?: RegExp;
  code?: string;
}

const bad: BadCase[] = [
  { name: 'app of the wrong type', edit: (c) => (c.app = 5), path: 'app', match: /expected a string \(got 5\)/ },
  { name: 'bad app name', edit: (c) => (c.app = 'Shop!'), path: 'app', match: /a-z.*\(got "Shop!"\)/ },
  {
    name: 'bad service name',
    edit: (c) => (c.services.Api = c.services.api),
    path: 'services.Api',
    match: /invalid key/,
  },
  { name: 'empty services', edit: (c) => (c.services = {}), path: 'services', match: /at least one service/ },
  {
    name: 'port not a number',
    edit: (c) => (c.services.api.port.blue = 'abc'),
    path: 'services.api.port.blue',
    match: /expected a number \(got "abc"\)/,
  },
  {
    name: 'port too big',
    edit: (c) => (c.services.api.port.green = 70000),
    path: 'services.api.port.green',
    match: /at most 65535/,
  },
  {
    name: 'port not an integer',
    edit: (c) => (c.services.api.port.blue = 1.5),
    path: 'services.api.port.blue',
    match: /integer/,
  },
  {
    name: 'a restart policy that is none',
    edit: (c) => (c.services.api.restart = 'sometimes'),
    path: 'services.api.restart',
    match: /expected one of "no", "never", "always", "unless-stopped", "on-failure" \(got "sometimes"\)/,
  },
  {
    name: 'a negative logs.keep',
    edit: (c) => (c.logs = { keep: -1 }),
    path: 'logs.keep',
    match: /must be at least 0 \(got -1\)/,
  },
  {
    name: 'a logs.maxSize too small to be useful',
    edit: (c) => (c.logs = { maxSize: '1k' }),
    path: 'logs.maxSize',
    match: /at least 64k/,
  },
  {
    name: 'a logs.maxSize that is no size',
    edit: (c) => (c.logs = { maxSize: 'big' }),
    path: 'logs.maxSize',
    match: /expected a size such as "10m"/,
  },
  {
    name: 'a proxy restart policy that is none',
    edit: (c) => (c.proxy.restart = 'sometimes'),
    path: 'proxy.restart',
    match: /expected one of "always", "never" \(got "sometimes"\)/,
  },
  {
    name: 'unknown runtime',
    edit: (c) => (c.runtime = 'kubernetes'),
    path: 'runtime',
    match: /expected one of "process", "docker", "swarm" \(got "kubernetes"\)/,
  },
  {
    name: 'unknown service key',
    edit: (c) => (c.services.api.comand = 'x'),
    path: 'services.api.comand',
    match: /unknown key \(did you mean "command"\?\)/,
  },
  { name: 'unknown top-level key', edit: (c) => (c.chekcs = {}), path: 'chekcs', match: /did you mean "checks"/ },
  {
    name: 'unknown expect key',
    edit: (c) => (c.services.api.health.expect.stauts = 200),
    path: 'services.api.health.expect.stauts',
    match: /did you mean "status"/,
  },
  {
    name: 'route to a missing service',
    edit: (c) => (c.proxy.routes[1].service = 'apx'),
    path: 'proxy.routes.1.service',
    match: /no service named "apx" \(services: api, web\)/,
  },
  {
    name: 'duplicate route',
    edit: (c) => c.proxy.routes.push({ path: '/api', service: 'web' }),
    path: 'proxy.routes.2.path',
    match: /duplicate/,
  },
  { name: 'no routes', edit: (c) => (c.proxy.routes = []), path: 'proxy.routes', match: /at least 1 item/ },
  {
    name: 'bad duration',
    edit: (c) => (c.deploy = { drainTimeout: 'soon' }),
    path: 'deploy.drainTimeout',
    match: /duration.*\(got "soon"\)/,
  },
  {
    name: 'duration of the wrong type',
    edit: (c) => (c.checks.interval = true),
    path: 'checks.interval',
    match: /expected a string or a number/,
  },
  {
    name: 'same port for both colours',
    edit: (c) => (c.services.api.port.green = 5001),
    path: 'services.api.port.green',
    match: /same as port.blue/,
  },
  {
    name: 'port shared by two services',
    edit: (c) => (c.services.web.port.blue = 5002),
    path: 'services.web.port.blue',
    match: /already used by services.api.port.green/,
  },
  {
    name: 'instances: 0',
    edit: (c) => (c.services.api.instances = 0),
    path: 'services.api.instances',
    match: /must be at least 1 \(got 0\)/,
  },
  {
    name: 'instances of the wrong type',
    edit: (c) => (c.services.api.instances = 'two'),
    path: 'services.api.instances',
    match: /expected a number \(got "two"\)/,
  },
  {
    name: "a second instance's port (the port + 1) is the other colour's",
    edit: (c) => (c.services.api.instances = 2),
    path: 'services.api.port.green',
    match: /already used by services\.api\.port\.blue \+ 1 \(instance 2\)/,
  },
  {
    name: 'port equal to the proxy port',
    edit: (c) => (c.services.web.port.green = 8080),
    path: 'services.web.port.green',
    match: /proxy port/,
  },
  {
    name: 'bad capture path',
    edit: (c) => (c.checks.smoke[0].capture.token = 'data.token'),
    path: 'checks.smoke.0.capture.token',
    match: /\$\.data\.token/,
  },
  {
    name: 'template not captured before',
    edit: (c) => (c.checks.smoke[0].capture = {}),
    path: 'checks.smoke.1.request.headers.Authorization',
    match: /\{\{token\}\} is not captured/,
  },
  {
    name: 'missing variable',
    edit: (c) => (c.services.api.env.DB_URL = 'postgres://app:${DB_PASSWORD}@localhost/db'),
    path: 'services.api.env.DB_URL',
    match: /variable \$\{DB_PASSWORD\} is not set/,
    code: 'ENV_MISSING',
  },
  {
    name: 'bad YAML',
    yaml: 'app: shop\nproxy:\n  listen: { http: 8080\nservices: {}\n',
    path: 'switchyard.yml:',
    match: /YAML syntax error/,
  },
  { name: 'duplicate YAML key', yaml: 'app: shop\napp: other\n', path: 'switchyard.yml:2:1', match: /YAML/ },
  { name: 'top level not a mapping', yaml: '- a\n- b\n', path: '(top level)', match: /mapping/ },
  { name: 'empty file', yaml: '# nothing\n', path: '(top level)', match: /empty/ },
  {
    name: 'bad http path',
    edit: (c) => (c.services.api.health.path = 'api/health'),
    path: 'services.api.health.path',
    match: /must start with "\/"/,
  },
  {
    name: 'nginx in a container without docker',
    edit: (c) => Object.assign(c.proxy, { kind: 'nginx', mode: 'container' }),
    path: 'proxy.mode',
    match: /mode: container needs runtime: docker/,
  },
  {
    name: 'unknown proxy kind',
    edit: (c) => (c.proxy.kind = 'traefik'),
    path: 'proxy.kind',
    match: /expected kind: builtin or kind: nginx \(got "traefik"\)/,
  },
  {
    name: 'healthyAfter zero',
    edit: (c) => (c.checks.healthyAfter = 0),
    path: 'checks.healthyAfter',
    match: /at least 1 \(got 0\)/,
  },
  {
    name: 'healthyAfter not a number',
    edit: (c) => (c.checks.healthyAfter = 'two'),
    path: 'checks.healthyAfter',
    match: /expected a number/,
  },
  {
    name: 'smoke step with neither request nor run',
    edit: (c) => c.checks.smoke.push({ name: 'x' }),
    path: 'checks.smoke.2',
    match: /needs "request" or "run"/,
  },
  {
    name: 'bad method',
    edit: (c) => (c.checks.smoke[0].request.method = 'FETCH'),
    path: 'checks.smoke.0.request.method',
    match: /expected one of "GET"/,
  },
  {
    name: 'run step of the wrong type',
    edit: (c) => c.checks.smoke.push({ name: 'x', run: 5 }),
    path: 'checks.smoke.2.run',
    match: /a string or a list/,
  },
  {
    name: 'missing command',
    edit: (c) => delete c.services.api.command,
    path: 'services.api.command',
    match: /required/,
  },
  { name: 'missing health', edit: (c) => delete c.services.web.health, path: 'services.web.health', match: /required/ },
  { name: 'missing proxy.listen', edit: (c) => delete c.proxy.listen, path: 'proxy.listen', match: /required/ },
  {
    name: 'proxy.workers zero',
    edit: (c) => (c.proxy.workers = 0),
    path: 'proxy.workers',
    match: /must be at least 1 \(got 0\)/,
  },
  {
    name: 'proxy.workers fractional',
    edit: (c) => (c.proxy.workers = 1.5),
    path: 'proxy.workers',
    match: /expected an integer \(got 1.5\)/,
  },
  {
    name: 'proxy.workers beyond 16',
    edit: (c) => (c.proxy.workers = 17),
    path: 'proxy.workers',
    match: /must be at most 16 \(got 17\)/,
  },
  {
    name: 'database probe names a missing service',
    edit: (c) => (c.checks.database = { service: 'db', path: '/h', expect: {} }),
    path: 'checks.database.service',
    match: /no service named "db"/,
  },
  {
    name: 'service env_file missing',
    edit: (c) => (c.services.api.env_file = 'api.env'),
    path: 'services.api.env_file',
    match: /file not found/,
  },
  {
    name: 'service cwd missing',
    edit: (c) => (c.services.api.cwd = 'backend'),
    path: 'services.api.cwd',
    match: /folder not found/,
  },
  {
    name: 'service cwd is a file',
    edit: (c) => (c.services.api.cwd = 'x.txt'),
    files: { 'x.txt': '' },
    path: 'services.api.cwd',
    match: /not a folder/,
  },
  {
    name: 'top-level env_file missing',
    edit: (c) => (c.env_file = '.env.prod'),
    path: 'env_file',
    match: /file not found/,
  },
  {
    name: 'bad env variable name',
    edit: (c) => (c.services.api.env['1A'] = 'x'),
    path: 'services.api.env.1A',
    match: /environment variable name/,
  },
  {
    name: 'bad expected status',
    edit: (c) => (c.services.api.health.expect.status = 99),
    path: 'services.api.health.expect.status',
    match: /at least 100/,
  },
  {
    name: 'expect.json not a mapping',
    edit: (c) => (c.services.api.health.expect.json = 'ok'),
    path: 'services.api.health.expect.json',
    match: /mapping/,
  },
  {
    name: 'smoke path with no route',
    edit: (c) => {
      c.proxy.routes = [{ path: '/api', service: 'api' }];
      c.checks.smoke[1].request.path = '/me';
    },
    path: 'checks.smoke.1.request.path',
    match: /no proxy route/,
  },
  {
    name: 'backup kind unknown',
    edit: (c) => (c.backup = { kind: 'mysql' }),
    path: 'backup.kind',
    match: /none|postgres|command/,
  },
  {
    name: 'postgres backup with neither url nor container',
    edit: (c) => (c.backup = { kind: 'postgres' }),
    path: 'backup',
    match: /exactly one of url .* or container/,
  },
  {
    name: 'postgres backup with both url and container',
    edit: (c) => (c.backup = { kind: 'postgres', url: 'postgres://a@h/d', container: 'db' }),
    path: 'backup',
    match: /exactly one/,
  },
  {
    name: 'postgres backup url of another scheme',
    edit: (c) => (c.backup = { kind: 'postgres', url: 'mysql://a@h/d' }),
    path: 'backup.url',
    match: /postgres:\/\//,
  },
  {
    name: 'backup container is not a shared service',
    edit: (c) => (c.backup = { kind: 'postgres', container: 'db' }),
    path: 'backup.container',
    match: /no shared service named db/,
  },
  {
    name: 'backup keep of zero',
    edit: (c) => (c.backup = { kind: 'postgres', url: 'postgres://a@h/d', keep: 0 }),
    path: 'backup.keep',
    match: /at least 1|>=\s*1|too small/i,
  },
  {
    name: 'backup format unknown',
    edit: (c) => (c.backup = { kind: 'postgres', url: 'postgres://a@h/d', format: 'tar' }),
    path: 'backup.format',
    match: /custom|plain/,
  },
  {
    name: 'command backup without dump',
    edit: (c) => (c.backup = { kind: 'command' }),
    path: 'backup.dump',
    match: /required/,
  },
  {
    name: 'migrate hook in a missing service',
    edit: (c) => (c.deploy = { hooks: { migrate: { run: 'npm run migrate', service: 'worker' } } }),
    path: 'deploy.hooks.migrate.service',
    match: /no service named worker/,
  },
  {
    name: 'migrate hook without run',
    edit: (c) => (c.deploy = { hooks: { migrate: { service: 'api' } } }),
    path: 'deploy.hooks.migrate.run',
    match: /required/,
  },
];

for (const c of bad) {
  test(`bad config: ${c.name}`, async () => {
    let text = c.yaml;
    if (text === undefined) {
      const cfg = base();
      c.edit?.(cfg);
      text = stringify(cfg);
    }
    const dir = project(text, c.files);
    const err = await failure(loadConfig({ cwd: dir, env: c.env ?? {} }));
    assert.equal(err.exitCode, 2);
    assert.equal(err.code, c.code ?? 'CONFIG_INVALID');
    assert.match(err.message, /^switchyard\.yml is invalid \(\d+ problems?\)$/);
    const line = err.details.find((d) => d.startsWith(`${c.path}`));
    assert.ok(line, `no detail for ${c.path} in:\n${err.details.join('\n')}`);
    if (c.match) assert.match(line, c.match);
  });
}

test('the bad cases are many and distinct', () => {
  assert.ok(bad.length >= 25);
  assert.equal(new Set(bad.map((c) => c.name)).size, bad.length);
});

test('all problems of a stage are reported at once, and a missing variable hides its symptom', async () => {
  const cfg = base();
  cfg.app = 'Bad';
  cfg.services.api.port.blue = '${API_PORT}';
  cfg.proxy.routes[0].service = 'nope';
  const err = await failure(loadConfig({ cwd: project(stringify(cfg)), env: {} }));
  assert.equal(err.code, 'CONFIG_INVALID');
  // The schema's stage: the rules (the route's service) wait for a config the schema accepts.
  assert.equal(err.message, 'switchyard.yml is invalid (2 problems)');
  assert.deepEqual(err.details.map((d) => d.split(':')[0]).sort(), ['app', 'services.api.port.blue']);
  assert.match(err.details.join('\n'), /services\.api\.port\.blue: variable \$\{API_PORT\} is not set/);
  cfg.app = 'good';
  cfg.services.api.port.blue = 4101;
  cfg.checks.database = { service: 'nada', path: '/health', expect: { status: 200 } };
  const rules = await failure(loadConfig({ cwd: project(stringify(cfg)), env: {} }));
  assert.equal(rules.message, 'switchyard.yml is invalid (2 problems)', rules.details.join('; '));
  assert.deepEqual(rules.details.map((d) => d.split(':')[0]).sort(), [
    'checks.database.service',
    'proxy.routes.0.service',
  ]);
});

test('only missing variables: ENV_MISSING with a hint', async () => {
  const cfg = base();
  cfg.services.api.env.A = '${ONE}';
  cfg.services.api.env.B = '${TWO}';
  const err = await failure(loadConfig({ cwd: project(stringify(cfg)), env: {} }));
  assert.equal(err.code, 'ENV_MISSING');
  assert.equal(err.exitCode, 2);
  assert.equal(err.details.length, 2);
  assert.match(err.hint ?? '', /environment or in the env_file/);
});

test('no config file: CONFIG_NOT_FOUND with a hint', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sy-empty-'));
  dirs.push(dir);
  const err = await failure(loadConfig({ cwd: dir }));
  assert.equal(err.code, 'CONFIG_NOT_FOUND');
  assert.equal(err.exitCode, 2);
  assert.match(err.hint ?? '', /create switchyard\.yml or pass -c FILE/);
  const err2 = await failure(loadConfig({ cwd: dir, file: 'other.yml' }));
  assert.equal(err2.code, 'CONFIG_NOT_FOUND');
});

test('defaults are applied', async () => {
  const cfg = base();
  delete cfg.checks;
  const loaded = await loadConfig({ cwd: project(stringify(cfg)), env: {} });
  const c = loaded.config;
  assert.equal(c.runtime, 'process');
  assert.equal(c.proxy.kind, 'builtin');
  assert.equal(c.proxy.listen.host, '127.0.0.1');
  assert.deepEqual(c.backup, { kind: 'none' });
  assert.equal(c.checks.interval, 500);
  assert.equal(c.checks.timeout, 60_000);
  assert.equal(c.checks.healthyAfter, 2);
  assert.deepEqual(c.checks.smoke, []);
  assert.equal(c.deploy.drainTimeout, 30_000);
  assert.equal(c.deploy.autoSwitch, false);
  assert.equal(c.services.web?.cwd, '.');
  assert.equal(c.services.web?.stopTimeout, 10_000);
  assert.deepEqual(c.services.web?.env, {});
  assert.equal(loaded.projectDir, path.dirname(loaded.file));
});

test('a health block without expect defaults to status 200; durations parse', async () => {
  const cfg = base();
  cfg.services.web.health = { path: '/' };
  cfg.deploy = { drainTimeout: '2m', verifyTimeout: 3 };
  cfg.checks.requestTimeout = '250ms';
  const { config } = await loadConfig({ cwd: project(stringify(cfg)), env: {} });
  assert.deepEqual(config.services.web?.health.expect, { status: 200 });
  assert.equal(config.deploy.drainTimeout, 120_000);
  assert.equal(config.deploy.verifyTimeout, 3000);
  assert.equal(config.checks.requestTimeout, 250);
});

test('interpolation: defaults, environment over env_file, $$ and number/boolean coercion', async () => {
  const yaml = stringify(base())
    .replace('http: 8080', 'http: ${SWITCHYARD_PORT:-8080}')
    .replace(
      'NODE_ENV: production',
      'NODE_ENV: ${NODE_ENV:-development}\n      PRICE: $$5 ${CURRENCY}\n      ZIP: "${ZIP}"\n      MODE: "${MODE}"',
    );
  const text = `env_file: .env\ndeploy:\n  autoSwitch: \${AUTO:-false}\n${yaml}`;
  const dir = project(text, { '.env': 'CURRENCY=EUR\nZIP=01234\nMODE=from-file\nAUTO=true\n' });
  const a = await loadConfig({ cwd: dir, env: { MODE: 'from-env' } });
  assert.equal(a.config.proxy.listen.http, 8080);
  assert.equal(a.config.deploy.autoSwitch, true);
  const env = a.config.services.api?.env ?? {};
  assert.equal(env.NODE_ENV, 'development');
  assert.equal(env.PRICE, '$5 EUR');
  assert.equal(env.ZIP, '01234', 'a leading zero is not lost to number coercion');
  assert.equal(env.MODE, 'from-env');
  const b = await loadConfig({ cwd: dir, env: { SWITCHYARD_PORT: '9090', NODE_ENV: 'staging' } });
  assert.equal(b.config.proxy.listen.http, 9090);
  assert.equal(b.config.services.api?.env.NODE_ENV, 'staging');
});

test('a numeric variable inside a longer string stays a string; a non-number port fails', async () => {
  const yaml = stringify(base()).replace('http: 8080', 'http: "${PORT}x"');
  const err = await failure(loadConfig({ cwd: project(yaml), env: { PORT: '80' } }));
  assert.ok(err.details.some((d) => d.startsWith('proxy.listen.http: expected a number (got "80x")')));
});

test('switchyard.yaml is found, and -c is relative to cwd', async () => {
  const dir = project(stringify(base()), {}, 'switchyard.yaml');
  assert.equal(path.basename((await loadConfig({ cwd: dir, env: {} })).file), 'switchyard.yaml');
  const dir2 = project('', { 'deploy/prod.yml': stringify(base()) });
  const loaded = await loadConfig({ cwd: dir2, file: 'deploy/prod.yml', env: {} });
  assert.equal(loaded.projectDir, path.join(dir2, 'deploy'));
});

test('serviceEnv layers env_file, service env_file and env; secrets are collected and redacted', async () => {
  const cfg = base();
  cfg.env_file = '.env';
  cfg.services.api.cwd = 'backend';
  cfg.services.api.env_file = 'backend/api.env';
  cfg.services.api.env = {
    LAYER: 'env',
    DB_URL: 'postgres://app:${DB_PASSWORD}@db/app',
    SHORT: '${API_KEY}',
    GH: '${GITHUB_TOKEN}',
  };
  const dir = project(stringify(cfg), {
    '.env': 'DB_PASSWORD=hunter22\nLAYER=top\nTOP_ONLY=yes-top\n',
    'backend/api.env': 'LAYER=service\nSTRIPE_KEY=sk_live_abcdef\n',
  });
  const loaded = await loadConfig({
    cwd: dir,
    env: { API_KEY: 'abc', GITHUB_TOKEN: 'ghp_0123456789', HOME_DIR: '/home/x' },
  });
  assert.deepEqual(loaded.serviceEnv.api, {
    DB_PASSWORD: 'hunter22',
    TOP_ONLY: 'yes-top',
    STRIPE_KEY: 'sk_live_abcdef',
    LAYER: 'env',
    DB_URL: 'postgres://app:hunter22@db/app',
    SHORT: 'abc',
    GH: 'ghp_0123456789',
  });
  assert.deepEqual(loaded.serviceEnv.web, { DB_PASSWORD: 'hunter22', LAYER: 'top', TOP_ONLY: 'yes-top' });
  for (const s of ['hunter22', 'sk_live_abcdef', 'ghp_0123456789', 'yes-top']) assert.ok(loaded.secrets.includes(s), s);
  assert.ok(!loaded.secrets.includes('abc'), 'values shorter than 4 characters are not secrets');
  assert.ok(!loaded.secrets.includes('/home/x'), 'HOME_DIR is not secret-looking');
  const redact = makeRedactor(loaded.secrets);
  assert.equal(
    redact('connect postgres://app:hunter22@db with ghp_0123456789'),
    'connect postgres://app:***@db with ***',
  );
});

test('an invalid value that came from a secret is quoted as *** in the error (I8)', async () => {
  const c = base();
  (c as { env_file?: string }).env_file = '.env';
  (c.proxy as { listen: { http: unknown } }).listen.http = '${DB_PASSWORD}';
  const dir = project(stringify(c), { '.env': 'DB_PASSWORD=hunter2-not-a-port\n' });
  const e = await failure(loadConfig({ cwd: dir, env: {} }));
  const text = [e.message, ...e.details, e.hint ?? ''].join('\n');
  assert.match(text, /proxy\.listen\.http: .*\*\*\*/);
  assert.ok(!text.includes('hunter2-not-a-port'), text);
});

test('backup and migrate hook: defaults, and the URL password is a secret', async () => {
  const cfg = base();
  cfg.backup = { kind: 'postgres', url: 'postgres://app:${PGPASS_VALUE}@127.0.0.1:5432/shop' };
  cfg.deploy = { hooks: { migrate: { run: ['npm', 'run', 'migrate'], service: 'api' } } };
  const dir = project(stringify(cfg));
  const loaded = await loadConfig({ cwd: dir, env: { PGPASS_VALUE: 's3cr%40t-pw' } });
  assert.deepEqual(loaded.config.backup, {
    kind: 'postgres',
    url: 'postgres://app:s3cr%40t-pw@127.0.0.1:5432/shop',
    format: 'custom',
    dir: 'backups',
    keep: 5,
    timeout: 600_000,
  });
  assert.deepEqual(loaded.config.deploy.hooks.migrate, {
    run: ['npm', 'run', 'migrate'],
    service: 'api',
    shell: false,
    timeout: 300_000,
  });
  assert.ok(
    loaded.secrets.includes('s3cr%40t-pw') && loaded.secrets.includes('s3cr@t-pw'),
    'raw and decoded URL passwords are secrets',
  );
  assert.equal(makeRedactor(loaded.secrets)('auth failed for s3cr@t-pw'), 'auth failed for ***');
});
