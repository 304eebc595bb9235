/**
 * Hostile input, property-based (fast-check): whole random configs, hostile values spliced into a
 * valid one, hostile keys, paths, header values and backup names. What must hold for every input:
 * - loadConfig either loads or throws a SwitchyardError with exit code 2 whose every line names a
 *   config path, is one line of plain text (no control characters) and shows no stack trace;
 * - it never writes a file (the temp tree, a sibling folder included, is compared before/after);
 * - nothing from a config reaches a shell unless `shell: true` says so (toArgv), and `${...}`
 *   values are never expanded twice;
 * - a secret used in a bad place is shown as *** in the error;
 * - resolveBackup only ever returns a regular file whose real path is directly in the backup folder.
 * Runs are bounded (numRuns below) so the file takes a few seconds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { resolveBackup } from '../../src/backup/files.ts';
import { printable } from '../../src/config/format-issues.ts';
import { interpolate } from '../../src/config/env.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { LoadedConfig } from '../../src/config/loaded.ts';
import type { Config } from '../../src/config/schema.ts';
import { SwitchyardError } from '../../src/errors.ts';
import { toArgv } from '../../src/runtime/process/command.ts';

const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FC_RUNS ?? 200);
const fcOpts = (numRuns = RUNS) => ({ numRuns, seed: SEED, endOnFailure: true });

const ENV_SECRET = 'dotenv-pw-7e1c93aa51';
const VAR_SECRET = 'tok-hostile-secret-9x8y';
const ENV = {
  SWITCHYARD_PORT: '8080',
  SECRET_TOKEN: VAR_SECRET,
  EVIL: '"; touch pwned-by-env #\r\nX-Evil: 1',
  NESTED: '${SECRET_TOKEN}',
  HOME: '/nonexistent-home',
};

let root: string; // the container: project + sibling, compared before/after
let project: string;
let sibling: string;
let yml: string;

/** Every entry under dir: relative path -> kind, size, mtime (symlinks not followed). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      const rel = path.relative(dir, p);
      if (rel === path.relative(dir, yml)) continue; // the test rewrites the config itself
      out.set(
        rel,
        `${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f'}:${st.size}:${st.isDirectory() ? '' : st.mtimeMs}`,
      );
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

function assertSameTree(before: Map<string, string>, what: string): void {
  const now = snapshot(root);
  const added = [...now.keys()].filter((k) => !before.has(k));
  const changed = [...before.keys()].filter((k) => now.get(k) !== before.get(k));
  assert.deepEqual({ added, changed }, { added: [], changed: [] }, `${what} wrote to the file system`);
  for (const outside of ['/tmp/pwned', '/tmp/pwned-by-env', path.join(project, 'pwned')])
    assert.ok(!fs.existsSync(outside), `${outside} exists`);
}

before(() => {
  root = fs.mkdtempSync(path.join(tmpdir(), 'sy-hostile-config-'));
  project = path.join(root, 'project');
  sibling = path.join(root, 'sibling');
  for (const d of [project, sibling, path.join(project, 'svc'), path.join(project, 'backups')])
    fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(project, '.env'), `DB_PASSWORD=${ENV_SECRET}\nAPI_TOKEN=${VAR_SECRET}-env\n`);
  fs.writeFileSync(path.join(project, 'svc', 'server.mjs'), '// never run\n');
  fs.writeFileSync(path.join(sibling, 'outside.txt'), 'outside the project\n');
  yml = path.join(project, 'switchyard.yml');
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

type Obj = Record<string, unknown>;

/** A valid config for the temp project; properties splice hostile values into copies of it. */
function base(): Obj {
  return {
    app: 'hostile',
    env_file: '.env',
    proxy: {
      kind: 'builtin',
      listen: { http: '${SWITCHYARD_PORT}' },
      routes: [
        { path: '/api', service: 'api' },
        { path: '/', service: 'web' },
      ],
    },
    services: {
      api: {
        cwd: 'svc',
        command: 'node server.mjs',
        env: { DB_PASSWORD: '${DB_PASSWORD}' },
        health: { path: '/health' },
      },
      web: {
        cwd: 'svc',
        command: ['node', 'server.mjs'],
        health: { path: '/', expect: { headers: { 'content-type': '*' } } },
      },
    },
    checks: {
      smoke: [
        {
          name: 'token',
          request: { method: 'POST', path: '/api/login', headers: { 'X-Token': '${SECRET_TOKEN}' }, json: { a: 1 } },
          capture: { t: '$.token' },
        },
        { name: 'me', request: { path: '/api/me', headers: { Authorization: 'Bearer {{t}}' } } },
        { name: 'script', run: ['./check.sh', '--fast'] },
      ],
    },
    backup: { kind: 'command', dump: ['sh', '-c', 'echo dump'], restore: 'sh -c cat', dir: 'backups' },
    deploy: { hooks: { migrate: { run: 'npm run migrate' } } },
  };
}

const HOSTILE_STRINGS = [
  '../../etc/passwd',
  '/etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '....//....//etc/passwd',
  '..\\..\\boot.ini',
  '/',
  '.',
  '..',
  'a\u0000b',
  'a\nb',
  '\r\nX-Evil: 1',
  'v\r\nSet-Cookie: x=1',
  '\u001b[2J\u001b[31mred',
  'line\u2028sep',
  '\u0085',
  '日本語',
  '',
  ' ',
  '-',
  '--help',
  '0',
  '-1',
  '1e309',
  'NaN',
  'true',
  'null',
  '~',
  '*',
  '&a',
  '!!js/function',
  '${HOME}',
  '${UNSET_VAR}',
  '${A:-${B}}',
  '$${LITERAL}',
  '${EVIL}',
  '${NESTED}',
  '${SECRET_TOKEN}',
  '${DB_PASSWORD}',
  '${__proto__}',
  'postgres://app:${SECRET_TOKEN}@127.0.0.1:1/db',
  '$(touch pwned)',
  '`touch pwned`',
  '; touch pwned',
  '| touch /tmp/pwned',
  '&& touch pwned',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'x'.repeat(70_000),
];
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'a\nb',
  'a\u0000b',
  '${X}',
  ' ',
  '',
  'api',
  'web',
  'app',
  'services',
  'x'.repeat(500),
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
);
const hostileKey = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const leaf = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(-0),
  fc.bigInt().map(Number),
);
const hostileValue = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: fc.anything({ key: hostileKey, maxDepth: 3, maxKeys: 4, values: [leaf] }) },
);

/** Sets obj[...at] = value, creating mappings on the way; own properties even for "__proto__". */
function setAt(obj: Obj, at: string[], value: unknown): void {
  let o: Obj = obj;
  for (const k of at.slice(0, -1)) {
    const next = Object.hasOwn(o, k) ? o[k] : undefined;
    if (next === null || typeof next !== 'object')
      Object.defineProperty(o, k, { value: {}, enumerable: true, writable: true, configurable: true });
    o = o[k] as Obj;
  }
  Object.defineProperty(o, at[at.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

const SPOTS: string[][] = [
  ['app'],
  ['runtime'],
  ['env_file'],
  ['proxy'],
  ['proxy', 'kind'],
  ['proxy', 'listen', 'http'],
  ['proxy', 'listen', 'host'],
  ['proxy', 'routes'],
  ['proxy', 'routes', '0', 'path'],
  ['proxy', 'routes', '0', 'service'],
  ['proxy', 'maxBodySize'],
  ['services'],
  ['services', 'api'],
  ['services', 'api', 'cwd'],
  ['services', 'api', 'command'],
  ['services', 'api', 'build'],
  ['services', 'api', 'shell'],
  ['services', 'api', 'env'],
  ['services', 'api', 'env', 'X'],
  ['services', 'api', 'env_file'],
  ['services', 'api', 'port'],
  ['services', 'api', 'health', 'path'],
  ['services', 'web', 'health', 'expect', 'headers', 'content-type'],
  ['checks', 'smoke', '0', 'request', 'headers', 'X-Token'],
  ['checks', 'smoke', '0', 'request', 'path'],
  ['checks', 'smoke', '1', 'request', 'headers'],
  ['checks', 'smoke', '2', 'run'],
  ['checks', 'interval'],
  ['deploy', 'exclude'],
  ['deploy', 'hooks', 'migrate', 'run'],
  ['backup'],
  ['backup', 'dir'],
  ['backup', 'dump'],
  ['backup', 'kind'],
  ['shared'],
];

const mutation = fc.oneof(
  fc.record({ at: fc.constantFrom(...SPOTS), value: hostileValue }),
  // A hostile key next to the valid ones, at some mapping of the config.
  fc.record({
    at: fc
      .tuple(fc.constantFrom(...SPOTS.filter((s) => s.length < 3)), hostileKey)
      .map(([p, k]) => [...p.slice(0, -1), k]),
    value: hostileValue,
  }),
);
/** A valid config with one to three hostile changes. */
const mutatedConfig = fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => {
  const c = base();
  for (const m of ms) setAt(c, m.at, m.value);
  return c;
});
/** Whole random trees, most of them nothing like a config. */
const randomTree = fc.dictionary(hostileKey, hostileValue, { maxKeys: 6 });

const TOP_KEYS = ['$schema', 'app', 'runtime', 'env_file', 'proxy', 'services', 'shared', 'checks', 'deploy', 'backup'];
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** The refusal contract: SwitchyardError, exit 2, every line one line of text naming where, no stack, no secret. */
function assertCleanRefusal(e: unknown, tree: unknown): void {
  if (!(e instanceof SwitchyardError)) assert.fail(`not a SwitchyardError: ${(e as Error)?.stack ?? String(e)}`);
  assert.equal(e.exitCode, 2, `${e.code}: ${e.message}`);
  const lines = [e.message, ...e.details, e.hint ?? ''];
  for (const line of lines) {
    assert.ok(!CONTROL.test(line), `control character in ${JSON.stringify(line).slice(0, 200)}`);
    assert.doesNotMatch(
      line,
      /\bat .+:\d+:\d+\)?$|TypeError|ReferenceError|RangeError/,
      'looks like a stack trace or an internal error',
    );
    assert.ok(!line.includes(VAR_SECRET) && !line.includes(ENV_SECRET), `a secret is shown: ${line.slice(0, 200)}`);
  }
  assert.match(e.message, /switchyard\.yml is invalid \(\d+ problems?\)|config file not found|no switchyard\.yml/);
  assert.ok(e.details.length > 0, 'an invalid config names at least one problem');
  const own = tree !== null && typeof tree === 'object' ? Object.keys(tree).map(printable) : [];
  const heads = new Set([...TOP_KEYS, ...own]);
  for (const d of e.details) {
    const named =
      d.startsWith('(top level): ') ||
      /^switchyard\.yml(:\d+:\d+)?: /.test(d) ||
      [...heads].some((h) => d.startsWith(`${h}: `) || d.startsWith(`${h}.`));
    assert.ok(named, `problem line does not start with a config path: ${d.slice(0, 200)}`);
  }
}

/** A loaded config: nothing it runs goes through a shell unless shell: true asked for it. */
function assertNoImplicitShell(c: Config): void {
  const check = (cmd: string | string[], shell: boolean, where: string) => {
    const argv = toArgv(cmd, shell);
    if (Array.isArray(cmd))
      assert.deepEqual([argv.file, ...argv.args], cmd, `${where}: an array runs exactly as written`);
    else if (shell) assert.deepEqual(argv, { file: '/bin/sh', args: ['-c', cmd] }, where);
    else
      assert.deepEqual(
        [argv.file, ...argv.args],
        cmd.trim().split(/\s+/),
        `${where}: a string is split on whitespace only, no quoting or expansion`,
      );
  };
  for (const [n, s] of Object.entries(c.services)) {
    if (s.command.length) check(s.command, s.shell, `services.${n}.command`);
    if (s.build !== undefined) check(s.build, s.shell, `services.${n}.build`);
  }
  for (const step of c.checks.smoke) if ('run' in step) check(step.run, step.shell, `smoke ${step.name}`);
  if (c.backup.kind === 'command') check(c.backup.dump, c.backup.shell, 'backup.dump');
  if (c.deploy.hooks.migrate) check(c.deploy.hooks.migrate.run, c.deploy.hooks.migrate.shell, 'migrate');
}

async function tryLoad(tree: unknown): Promise<void> {
  let text: string;
  try {
    text = stringify(tree, { aliasDuplicateObjects: false, lineWidth: 0 });
  } catch {
    return; // not representable as YAML: nothing to feed
  }
  fs.writeFileSync(yml, text);
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfig({ cwd: project, env: ENV });
  } catch (e) {
    assertCleanRefusal(e, tree);
    return;
  }
  assertNoImplicitShell(loaded.config);
  for (const s of loaded.secrets) assert.ok(s.length >= 4);
}

describe('loadConfig on hostile configs', () => {
  test('the base config loads (so the mutations below start from something valid)', async () => {
    fs.writeFileSync(yml, stringify(base()));
    const l = await loadConfig({ cwd: project, env: ENV });
    assert.ok(l.secrets.includes(VAR_SECRET) && l.secrets.includes(ENV_SECRET));
    assertNoImplicitShell(l.config);
  });

  test(`whole random trees: refused cleanly, nothing written (seed ${SEED})`, async () => {
    const before = snapshot(root);
    await fc.assert(fc.asyncProperty(randomTree, tryLoad), fcOpts());
    assertSameTree(before, 'loadConfig');
  });

  test(
    'a valid config with hostile values and keys spliced in: ' +
      `loads or is refused cleanly, nothing written (seed ${SEED})`,
    async () => {
      const before = snapshot(root);
      await fc.assert(fc.asyncProperty(mutatedConfig, tryLoad), fcOpts(RUNS * 2));
      assertSameTree(before, 'loadConfig');
    },
  );

  test('random YAML text (syntax errors, tags, anchors) is refused with a line and column', async () => {
    const before = snapshot(root);
    const yamlish = fc.string({
      unit: fc.constantFrom(...'abc:-[]{}&*!|>\'"#%@`,?\n \t\u0000\u001b'.split('')),
      maxLength: 80,
    });
    await fc.assert(
      fc.asyncProperty(yamlish, async (text) => {
        fs.writeFileSync(yml, text);
        await loadConfig({ cwd: project, env: ENV }).then(
          () => assert.fail('random text is never a whole valid config'),
          (e: unknown) => {
            let tree: unknown;
            try {
              tree = parse(text);
            } catch {
              tree = undefined; // a syntax error: problems then name switchyard.yml:line:col
            }
            assertCleanRefusal(e, tree);
          },
        );
      }),
      fcOpts(),
    );
    assertSameTree(before, 'loadConfig');
  });

  test(
    'resource attacks: alias bomb, deep nesting, a 4 MB value: ' + 'exit 2 naming the file, in bounded time',
    async () => {
      const bomb =
        [
          'a: &a [x, x, x, x, x, x, x, x, x, x]',
          ...'bcdefgh'.split('').map(
            (k, i) =>
              `${k}: &${k} [${Array(10)
                .fill(`*${String.fromCharCode(97 + i)}`)
                .join(', ')}]`,
          ),
        ].join('\n') + '\n';
      const cases: Record<string, string> = {
        'alias bomb': bomb,
        'flow nesting 5000 deep': `app: ${'['.repeat(5000)}${']'.repeat(5000)}\n`,
        'flow nesting 400 deep': `app: ${'['.repeat(400)}${']'.repeat(400)}\n`,
        'block nesting 2000 deep':
          'app:\n' + Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n') + ' 1\n',
        '4 MB value': `app: "${'a'.repeat(4 * 1024 * 1024)}"\n`,
        'a NUL byte in the text': 'app: a\u0000b\n',
        tags: 'app: !!js/function "function () { return 1 }"\nproxy: !!binary aGVsbG8=\nservices: !!set { a, b }\n',
      };
      for (const [what, text] of Object.entries(cases)) {
        fs.writeFileSync(yml, text);
        const t0 = performance.now();
        const e = await loadConfig({ cwd: project, env: ENV }).then(
          () => undefined,
          (x: unknown) => x,
        );
        assert.ok(e !== undefined, `${what}: loaded`);
        assertCleanRefusal(e, undefined);
        assert.ok(performance.now() - t0 < 5_000, `${what}: took ${Math.round(performance.now() - t0)} ms`);
      }
    },
  );

  test('__proto__ and constructor: reported, never taken as settings or service names', async () => {
    const cases: Array<[Obj, RegExp]> = [];
    const a = base();
    setAt(a, ['__proto__'], { polluted: true, app: 'x' });
    cases.push([a, /^__proto__: "__proto__" is not allowed as a key$/]);
    const b = base();
    setAt(b, ['services', '__proto__'], { cwd: 'svc', command: 'node server.mjs', health: { path: '/' } });
    cases.push([b, /^services\.__proto__: "__proto__" is not allowed as a key$/]);
    const c = base();
    setAt(c, ['services', 'constructor'], { cwd: 'svc', command: 'node server.mjs', health: { path: '/' } });
    cases.push([
      c,
      /^services\.constructor: invalid key: a service name must not be a name JavaScript objects already have/,
    ]);
    for (const [tree, re] of cases) {
      fs.writeFileSync(yml, stringify(tree));
      const e = await loadConfig({ cwd: project, env: ENV }).then(
        () => assert.fail(`loaded: ${re}`),
        (x: unknown) => x,
      );
      assertCleanRefusal(e, tree);
      assert.ok(
        (e as SwitchyardError).details.some((d) => re.test(d)),
        (e as SwitchyardError).details.join('\n'),
      );
    }
    assert.equal(({} as Obj).polluted, undefined, 'Object.prototype untouched');
  });

  test('CR/LF/NUL in smoke and expect headers and in paths are refused by the schema, naming the path', async () => {
    const bad = fc
      .tuple(
        fc.string({ maxLength: 8 }),
        fc.constantFrom('\r\n', '\n', '\r', '\u0000', '\u0007', '\u2028'),
        fc.string({ maxLength: 8 }),
      )
      .map(([a, x, b]) => a + x + b);
    await fc.assert(
      fc.asyncProperty(
        bad,
        fc.constantFrom(...(['value', 'name', 'expect', 'path', 'route', 'health'] as const)),
        async (s, where) => {
          const c = base();
          if (where === 'value') setAt(c, ['checks', 'smoke', '0', 'request', 'headers', 'X-Token'], s);
          if (where === 'name') setAt(c, ['checks', 'smoke', '0', 'request', 'headers', `X-${s}`], 'v');
          if (where === 'expect') setAt(c, ['services', 'web', 'health', 'expect', 'headers', 'content-type'], s);
          if (where === 'path') setAt(c, ['checks', 'smoke', '1', 'request', 'path'], `/api/${s}`);
          if (where === 'route') setAt(c, ['proxy', 'routes', '0', 'path'], `/api${s}`);
          if (where === 'health') setAt(c, ['services', 'api', 'health', 'path'], `/health${s}`);
          fs.writeFileSync(yml, stringify(c));
          const e = await loadConfig({ cwd: project, env: ENV }).then(
            () => assert.fail(`${where} ${JSON.stringify(s)} accepted`),
            (x: unknown) => x,
          );
          assertCleanRefusal(e, c);
          const at = {
            value: 'checks.smoke.0.request.headers',
            name: 'checks.smoke.0.request.headers',
            expect: 'services.web.health.expect.headers',
            path: 'checks.smoke.1.request.path',
            route: 'proxy.routes.0.path',
            health: 'services.api.health.path',
          }[where];
          assert.ok(
            (e as SwitchyardError).details.some((d) => d.startsWith(at)),
            `${at} not named:\n${(e as SwitchyardError).details.join('\n')}`,
          );
        },
      ),
      fcOpts(150),
    );
    // A variable that brings a line break is caught after interpolation, the same way.
    const c = base();
    setAt(c, ['checks', 'smoke', '0', 'request', 'headers', 'X-Token'], '${EVIL}');
    fs.writeFileSync(yml, stringify(c));
    const e = await loadConfig({ cwd: project, env: ENV }).then(
      () => assert.fail('EVIL accepted'),
      (x: unknown) => x,
    );
    assert.ok(
      (e as SwitchyardError).details.some((d) =>
        d.startsWith('checks.smoke.0.request.headers.X-Token: must not contain line breaks'),
      ),
      (e as SwitchyardError).details.join('\n'),
    );
  });

  test('blank commands and NUL bytes in argv or env are refused at load time, not when they would run', async () => {
    const cases: Array<[string[], unknown, string]> = [
      [['backup', 'dump'], ' ', 'backup.dump'],
      [['services', 'api', 'command'], [''], 'services.api.command'],
      [['services', 'api', 'command'], '\t \n', 'services.api.command'],
      [['services', 'web', 'command'], ['node', 'a\u0000b'], 'services.web.command'],
      [['deploy', 'hooks', 'migrate', 'run'], ['', 'x'], 'deploy.hooks.migrate.run'],
      [['services', 'api', 'env', 'X'], 'a\u0000b', 'services.api.env.X'],
    ];
    for (const [at, value, named] of cases) {
      const c = base();
      setAt(c, at, value);
      fs.writeFileSync(yml, stringify(c));
      const e = await loadConfig({ cwd: project, env: ENV }).then(
        () => assert.fail(`${named} = ${JSON.stringify(value)} accepted`),
        (x: unknown) => x as SwitchyardError,
      );
      assertCleanRefusal(e, c);
      assert.ok(
        e.details.some((d) => d.startsWith(named)),
        `${named} not named:\n${e.details.join('\n')}`,
      );
    }
  });

  test('a secret put where it does not belong is shown as *** in the error', async () => {
    for (const [at, value] of [
      [['proxy', 'listen', 'http'], '${SECRET_TOKEN}'],
      [['services', 'api', 'port'], '${DB_PASSWORD}'],
      [['services', 'web', 'cwd'], 'postgres://u:${SECRET_TOKEN}@h/db'],
    ] as const) {
      const c = base();
      setAt(c, [...at], value);
      fs.writeFileSync(yml, stringify(c));
      const e = await loadConfig({ cwd: project, env: ENV }).then(
        () => assert.fail('accepted'),
        (x: unknown) => x as SwitchyardError,
      );
      assertCleanRefusal(e, c);
      assert.ok(
        e.details.some((d) => d.includes('***')),
        e.details.join('\n'),
      );
    }
  });

  test('path traversal in cwd, env_file, backup.dir and build.context: read at most, never written', async () => {
    const before = snapshot(root);
    const outside = path.join(sibling, 'created-by-switchyard');
    const traversal = fc.constantFrom(
      '../sibling',
      '../../../../../../etc',
      '/etc',
      '/etc/passwd',
      '../sibling/outside.txt',
      path.relative(project, outside),
      outside,
      '..%2fsibling',
      'svc/../../sibling',
      '/dev/zero',
      '/proc/self/environ',
      'a\u0000b',
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ['services', 'api', 'cwd'],
          ['env_file'],
          ['services', 'api', 'env_file'],
          ['backup', 'dir'],
          ['services', 'api', 'build'],
        ),
        traversal,
        fc.boolean(),
        async (at, p, docker) => {
          const c = base();
          if (docker) {
            c.runtime = 'docker';
            for (const s of ['api', 'web']) setAt(c, ['services', s, 'port'], 80);
            setAt(c, ['services', 'web', 'image'], 'web:1');
          }
          setAt(c, [...at], p);
          await tryLoad(c);
        },
      ),
      fcOpts(120),
    );
    assertSameTree(before, 'loadConfig');
    assert.ok(!fs.existsSync(outside));
  });
});

describe('no shell, no second expansion', () => {
  test('toArgv: an array runs as written, a string is split on whitespace only, /bin/sh only with shell: true', () => {
    const word = fc.oneof(
      fc.constantFrom(...HOSTILE_STRINGS.filter((s) => s.length < 100)),
      fc.string({ maxLength: 12 }),
    );
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), fc.boolean(), (cmd, shell) => {
        fc.pre(cmd[0] !== '');
        const a = toArgv(cmd, shell);
        assert.deepEqual([a.file, ...a.args], cmd, 'arrays ignore shell and run exactly as written');
        const line = cmd.join(' ');
        fc.pre(line.trim() !== '');
        const s = toArgv(line, false);
        assert.deepEqual([s.file, ...s.args], line.trim().split(/\s+/));
        assert.ok(s.file !== '/bin/sh' || line.trim().startsWith('/bin/sh'), 'no shell was added');
        assert.deepEqual(toArgv(line, true), { file: '/bin/sh', args: ['-c', line] });
      }),
      fcOpts(500),
    );
  });

  test('variables are expanded once: a value holding ${...} or $$ stays literal', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 20 })),
        fc.string({ maxLength: 5 }),
        (value, around) => {
          fc.pre(!around.includes('$'));
          const vars = { A: value, SECRET_TOKEN: VAR_SECRET };
          assert.equal(interpolate('${A}', vars).value, value);
          assert.equal(interpolate(`${around}\${A}${around}`, vars).value, `${around}${value}${around}`);
          assert.equal(interpolate('$${A}', vars).value, '${A}');
        },
      ),
      fcOpts(500),
    );
  });

  test('no spawn in src/ passes a shell option, and child_process exec (a shell) is never imported', async () => {
    const files: string[] = [];
    const walk = async (d: string) => {
      for (const e of await fsp.readdir(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    await walk(path.join(import.meta.dirname, '..', '..', 'src'));
    assert.ok(files.length > 50);
    for (const f of files) {
      const code = (await fsp.readFile(f, 'utf8')).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      // Every spawn/execFile call up to its end: its options must not name `shell`.
      for (const m of code.matchAll(/\b(spawn|execFile|spawnSync|execFileSync)\(([\s\S]*?)\);/g)) {
        assert.doesNotMatch(
          m[2]!,
          /\bshell\b/,
          `${path.relative(process.cwd(), f)}: ${m[1]}(...) passes a shell option`,
        );
      }
      const imports = [...code.matchAll(/import\s*\{([^}]*)\}\s*from\s*'node:child_process'/g)].flatMap((m) =>
        m[1]!.split(',').map((x) => x.trim().split(/\s+/)[0]),
      );
      for (const name of imports)
        assert.ok(
          ['spawn', 'execFile', 'spawnSync', 'execFileSync', 'type', 'ChildProcess'].includes(name!),
          `${f} imports ${name} from child_process`,
        );
    }
  });
});

describe('resolveBackup on hostile names', () => {
  let dir: string;
  let good: string;
  let cwd: string;

  before(async () => {
    dir = path.join(project, 'backups');
    cwd = project;
    good = 'db-backup-20250102-030405-manual-ab12cd.dump';
    await fsp.writeFile(path.join(dir, good), 'DUMP');
    await fsp.writeFile(
      path.join(dir, `${good}.json`),
      JSON.stringify({
        at: '2025-01-02T03:04:05.000Z',
        reason: 'manual',
        format: 'custom',
        bytes: 4,
        verified: true,
        ms: 1,
      }),
    );
    await fsp.writeFile(path.join(dir, '.db-backup-20250102-030406-x.dump.partial'), 'HALF');
    // The newest "backup" is a symlink to a file outside: `latest` must not follow it out.
    await fsp.symlink(path.join(sibling, 'outside.txt'), path.join(dir, 'db-backup-20991231-235959-evil.dump'));
    await fsp.symlink('/etc/passwd', path.join(dir, 'passwd-link.sql'));
    await fsp.symlink(path.join(dir, good), path.join(dir, 'inside-link.dump'));
    await fsp.mkdir(path.join(dir, 'nested'));
    await fsp.writeFile(path.join(dir, 'nested', good), 'NESTED');
    await fsp.writeFile(path.join(project, good), 'BESIDE THE PROJECT');
  });

  const realDirOf = () => fs.realpathSync(dir);

  /**
   * The file it resolved to (checked to be in the folder), or how it refused: 'outside' (exit 2) or
   * 'missing' (exit 1).
   */
  async function outcome(ref: string): Promise<string> {
    try {
      const m = await resolveBackup(dir, ref, { allowLatest: true, cwd });
      const real = fs.realpathSync(m.file);
      assert.equal(
        path.dirname(real),
        realDirOf(),
        `${JSON.stringify(ref)} resolved outside the backup folder: ${real}`,
      );
      assert.ok(fs.lstatSync(real).isFile() && !path.basename(real).startsWith('.'));
      return path.basename(real);
    } catch (e) {
      if (!(e instanceof SwitchyardError)) assert.fail(`${JSON.stringify(ref)}: ${(e as Error)?.stack ?? e}`);
      assert.equal(e.code, 'RESTORE_FAILED');
      assert.ok(!CONTROL.test(e.message), e.message);
      if (e.exitCode === 2) return 'outside';
      assert.equal(e.exitCode, 1, `${JSON.stringify(ref)}: ${e.message}`);
      assert.match(e.message, /^no backup (named|file)/);
      return 'missing';
    }
  }

  test('traversal, absolute paths and symlinks out of the folder: exit 2; not a complete backup: exit 1', async () => {
    const outside = [
      '../../etc/passwd',
      '/etc/passwd',
      path.join(sibling, 'outside.txt'),
      '../sibling/outside.txt',
      'backups/../../sibling/outside.txt',
      'db-backup-20991231-235959-evil.dump',
      'passwd-link.sql',
      path.join(dir, 'passwd-link.sql'),
      'latest',
      `nested/${good}`,
      path.join(project, good),
      good.replace('.dump', '\u0000.dump'),
      '',
      '.',
      '..',
      '/',
      `${dir}/`,
    ];
    for (const ref of outside) assert.equal(await outcome(ref), 'outside', JSON.stringify(ref));
    for (const ref of [
      '.db-backup-20250102-030406-x.dump.partial',
      `${good}.json`,
      '..%2f..%2fetc%2fpasswd',
      `..%2f${good}`,
      'a\nb',
      'db-backup-20990101-000000-nope.dump',
    ]) {
      assert.equal(await outcome(ref), 'missing', JSON.stringify(ref));
    }
    // The same backup by name, by path and through a symlink that stays inside is fine.
    for (const ref of [
      good,
      path.join(dir, good),
      `backups/${good}`,
      `./backups/../backups/${good}`,
      'inside-link.dump',
    ])
      assert.equal(await outcome(ref), good, ref);
  });

  test(`random names never resolve to anything outside the backup folder (seed ${SEED})`, async () => {
    const pieces = fc.constantFrom(
      '..',
      '.',
      '/',
      'backups',
      'sibling',
      'etc',
      'passwd',
      good,
      'outside.txt',
      '%2f',
      '\u0000',
      'nested',
      'inside-link.dump',
      'passwd-link.sql',
      project,
      sibling,
      dir,
    );
    const ref = fc.oneof(
      fc.array(pieces, { minLength: 1, maxLength: 6 }).map((p) => p.join('')),
      fc.array(pieces, { minLength: 1, maxLength: 6 }).map((p) => p.join('/')),
      fc.string({ maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(ref, async (r) => {
        const o = await outcome(r);
        // Whatever it says, a name with a real path out of the folder never resolves.
        const lexical = r.includes('/') ? path.resolve(cwd, r) : path.join(dir, r);
        if (o !== 'outside' && o !== 'missing' && !r.includes('\u0000'))
          assert.equal(path.dirname(fs.realpathSync(lexical)), realDirOf());
      }),
      fcOpts(300),
    );
  });
});
