/** Bad input gets a clear error, exit 2, and changes nothing; prompts never wait without a TTY (I7). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, makeProject, type Project } from '../helpers/project.ts';
import { budget } from '../helpers/budget.ts';

let p: Project;
before(async () => {
  p = await makeProject('fixture');
}, budget(1_000));
after(async () => {
  await p.cleanup();
}, budget(3_000));

test('--help lists every command and deploy --help explains its flags and exit codes', budget(400), async () => {
  const help = await p.run(['--help']);
  assert.equal(help.code, 0);
  for (const c of [
    'init',
    'deploy',
    'rollback',
    'switch',
    'health',
    'smoke',
    'status',
    'history',
    'logs',
    'down',
    'demo',
  ])
    assert.match(help.stdout, new RegExp(`\\n  ${c}\\b`));
  const d = await p.run(['deploy', '--help']);
  for (const f of ['--auto-switch', '--skip-tests', '--keep-old', '--ref', '--pull', 'Exit codes'])
    assert.ok(d.stdout.includes(f), f);
});

test('unknown colour, unknown command and bad flags exit 2 with a message', budget(2_000), async () => {
  const cases: Array<[string[], RegExp]> = [
    [['switch', 'purple'], /unknown colour "purple": expected "blue" or "green"/],
    [['health', 'red'], /unknown colour "red"/],
    [['deploy', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['health', 'blue', '--timeout', 'soon'], /expected a number of seconds/],
  ];
  for (const [args, re] of cases) {
    const r = await p.run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

// not yet measured: estimate
test(
  'usage errors print exactly: the message, the suggestion on its own line, where to get help',
  budget(2_000),
  async () => {
    const cases: Array<[string[], string]> = [
      [['deplyo'], "error: unknown command 'deplyo'\n(Did you mean deploy?)\n(run with --help for usage)\n"],
      [
        ['deploy', '--auto-swich'],
        "error: unknown option '--auto-swich'\n(Did you mean --auto-switch?)\n(run with --help for usage)\n",
      ],
      [['switch'], "error: missing required argument 'colour'\n(run with --help for usage)\n"],
      // A line break inside the argument stays escaped: the suggestion is the only extra line.
      [['dep\nloy'], "error: unknown command 'dep\\nloy'\n(Did you mean deploy?)\n(run with --help for usage)\n"],
    ];
    for (const [args, expected] of cases) {
      const r = await p.run(args);
      assert.equal(r.code, 2, JSON.stringify(args));
      assert.equal(r.stderr, expected, JSON.stringify(args));
      assert.equal(r.stdout, '', JSON.stringify(args));
    }
  },
);

// not yet measured: estimate
test('--json: an error is one event on stdout carrying its code and exit code', budget(2_000), async () => {
  const cases: Array<[string[], string, number, RegExp]> = [
    [['status', '--json', '--bogus'], 'USAGE', 2, /^unknown option '--bogus'$/],
    [['switch', 'purple', '--json'], 'USAGE', 2, /unknown colour "purple"/],
    [['deploy', '--json'], 'NEEDS_TTY', 2, /no terminal to ask on/],
    [['status', '--json', '-c', 'nope.yml'], 'CONFIG_NOT_FOUND', 2, /config file not found/],
  ];
  for (const [args, code, exitCode, message] of cases) {
    const r = await p.run(args);
    assert.equal(r.code, exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; code?: string; exitCode?: number; message?: string });
    const errors = events.filter((ev) => ev.event === 'error');
    assert.equal(errors.length, 1, r.stdout);
    assert.deepEqual([errors[0]!.code, errors[0]!.exitCode], [code, exitCode], r.stdout);
    assert.match(errors[0]!.message ?? '', message);
  }
});

test('without a TTY, commands that would ask fail at once with exit 2 naming the flag', budget(500), async () => {
  const d = await p.run(['deploy']);
  assert.equal(d.code, 2);
  assert.match(d.stderr, /--auto-switch/);
  const r = await p.run(['rollback']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--force/);
  await assert.rejects(fs.access(path.join(p.dir, '.switchyard')), 'nothing was created');
});

test(
  'invalid config: exit 2, every problem named by path (the schema first, then the rules), nothing started',
  budget(400),
  async () => {
    const yml = path.join(p.dir, 'switchyard.yml');
    const original = await fs.readFile(yml, 'utf8');
    const badRule = original.replace('service: web', 'service: wbe').replace('service: api', 'service: apx');
    await fs.writeFile(
      yml,
      badRule.replace('interval: 100ms', 'interval: soon').replace('timeout: 5s', 'timeout: later'),
    );
    try {
      // The schema's problems, all at once; the rules read only a config the schema accepted.
      let r = await p.run(['init']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /switchyard\.yml is invalid \(2 problems\)/);
      assert.match(r.stderr, /checks\.interval: .*"soon"/);
      assert.match(r.stderr, /checks\.timeout: .*"later"/);
      assert.doesNotMatch(r.stderr, /routes/);
      // Then the rules' problems, all at once too.
      await fs.writeFile(yml, badRule);
      r = await p.run(['init']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /switchyard\.yml is invalid \(2 problems\)/);
      assert.match(r.stderr, /proxy\.routes\.0\.service: no service named "apx"/);
      assert.match(r.stderr, /proxy\.routes\.1\.service: no service named "wbe"/);
      await assert.rejects(fs.access(path.join(p.dir, '.switchyard')), 'nothing was created');
    } finally {
      await fs.writeFile(yml, original);
    }
  },
);

test('missing environment variable: exit 2 naming it', budget(300), async () => {
  const env = { ...p.env };
  delete env.SWITCHYARD_PORT;
  const res = spawnSync(process.execPath, [CLI, 'status'], { cwd: p.dir, env, encoding: 'utf8' });
  assert.equal(res.status, 2, res.stdout + res.stderr);
  assert.match(res.stderr, /proxy\.listen\.http: .*SWITCHYARD_PORT/);
});

test('no config file: exit 2 with a hint', budget(500), async () => {
  const r = await p.run(['status', '-c', 'nope.yml']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope\.yml/);
});

test('status of a fresh project: nothing deployed, consistent, exit 0', budget(500), async () => {
  const r = await p.run(['status']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /active: +\(none\)/);
});
