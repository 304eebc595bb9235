/**
 * Hostile command lines against the built CLI (a child process, no TTY), property-based:
 * random argv for every command, each with at least one thing wrong (an unknown option, a bad
 * colour, an extra argument, a missing or bad option value) among noise (huge, multi-line,
 * escape-laden, traversal-looking arguments). Every run must exit 2 with one line of message
 * (plus commander's usage hint), no stack trace, nothing on stdout, and write nothing anywhere:
 * the project, a sibling folder, HOME and TMPDIR all live in one container folder that is
 * compared before and after. `restore` must refuse names that lead out of the backup folder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { budget } from '../helpers/budget.ts';
import { CLI, ROOT, freePort } from '../helpers/project.ts';

const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FC_RUNS ?? 50);

let container: string;
let project: string;
let sibling: string;
let env: NodeJS.ProcessEnv;
const GOOD = 'db-backup-20250102-030405-manual-ab12cd.dump';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => (clearTimeout(t), resolve({ code, stdout, stderr })));
  });
}

/** Every entry under the container: kind, size, mtime, link target (symlinks not followed). */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.set(
        path.relative(container, p),
        `${e.isDirectory() ? 'd' : e.isSymbolicLink() ? `l>${fs.readlinkSync(p)}` : 'f'}:${st.size}:` +
          `${e.isDirectory() ? '' : st.mtimeMs}:${(st.mode & 0o777).toString(8)}`,
      );
      if (e.isDirectory()) walk(p);
    }
  };
  walk(container);
  return out;
}

function diff(
  before: Map<string, string>,
  now = snapshot(),
): { added: string[]; changed: string[]; removed: string[] } {
  return {
    added: [...now.keys()].filter((k) => !before.has(k)),
    changed: [...before.keys()].filter((k) => now.has(k) && now.get(k) !== before.get(k)),
    removed: [...before.keys()].filter((k) => !now.has(k)),
  };
}
const NOTHING = { added: [], changed: [], removed: [] };

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
const HINT = '(run with --help for usage)';
const SUGGESTION =
  /^\(Did you mean (one of )?--?[a-z][a-z-]*(, --?[a-z][a-z-]*)*\?\)$|^\(Did you mean (one of )?[a-z]+(, [a-z]+)*\?\)$/;

/**
 * Exit 2, one line of message (+ commander's usage hint), no stack trace, nothing on stdout (with
 * --json: one error event).
 */
function assertUsageError(r: Run, argv: string[]): void {
  const shown = argv.map((a) =>
    a.length > 60 ? `${JSON.stringify(a.slice(0, 60))}…(${a.length})` : JSON.stringify(a),
  );
  const what = `switchyard ${shown.join(' ')}`;
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr.slice(0, 500)}`);
  if (argv.includes('--json')) {
    // With --json, stdout carries the error as one event: its code and exit code, as data.
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1, `${what}: stdout ${JSON.stringify(r.stdout.slice(0, 300))}`);
    const ev = JSON.parse(lines[0]!) as { event?: string; code?: string; exitCode?: number };
    assert.deepEqual(
      [ev.event, ev.exitCode, typeof ev.code],
      ['error', 2, 'string'],
      `${what}: ${lines[0]!.slice(0, 300)}`,
    );
  } else assert.equal(r.stdout, '', `${what}: printed on stdout`);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.ok(lines.length >= 1, `${what}: no message`);
  for (const l of lines) {
    assert.ok(!CONTROL.test(l), `${what}: control character in ${JSON.stringify(l.slice(0, 120))}`);
    assert.doesNotMatch(
      l,
      /^\s+at |internal error|TypeError|ReferenceError|please report/,
      `${what}: ${l.slice(0, 200)}`,
    );
  }
  // Commander's suggestion, when it has one, is its own line: made of our names, never of the input.
  const rest = lines.slice(1).filter((l) => !SUGGESTION.test(l));
  if (lines[0]!.startsWith('error: '))
    assert.deepEqual(rest, [HINT], `${what}: more than one line:\n${r.stderr.slice(0, 500)}`);
  else assert.match(lines[0]!, /^✗ \S/, `${what}: ${lines[0]!.slice(0, 200)}`);
}

before(async () => {
  container = await fsp.mkdtemp(path.join(os.tmpdir(), 'sy-hostile-cli-'));
  project = path.join(container, 'project');
  sibling = path.join(container, 'sibling');
  for (const d of [sibling, path.join(container, 'home'), path.join(container, 'tmp')]) await fsp.mkdir(d);
  await fsp.cp(path.join(ROOT, 'test', 'fixtures', 'app'), project, { recursive: true });
  await fsp.appendFile(
    path.join(project, 'switchyard.yml'),
    'backup: { kind: command, dump: [sh, -c, "echo safety-dump"], ' +
      'restore: [sh, -c, "cat > restored.out"], dir: backups }\n',
  );
  await fsp.writeFile(path.join(sibling, 'outside.txt'), 'OUTSIDE THE BACKUP FOLDER\n');
  const backups = path.join(project, 'backups');
  await fsp.mkdir(backups, { mode: 0o700 });
  await fsp.writeFile(path.join(backups, GOOD), 'GOOD DUMP\n', { mode: 0o600 });
  // The newest name is a symlink out of the folder: `latest` must not follow it.
  await fsp.symlink(path.join(sibling, 'outside.txt'), path.join(backups, 'db-backup-20991231-235959-evil.dump'));
  await fsp.symlink('/etc/passwd', path.join(backups, 'passwd-link.sql'));
  env = {
    PATH: process.env.PATH,
    SWITCHYARD_PORT: String(await freePort()),
    FORCE_COLOR: '0',
    HOME: path.join(container, 'home'),
    TMPDIR: path.join(container, 'tmp'),
  };
}, budget(500));
after(async () => {
  await cli(['down', '--force-unlock']);
  await fsp.rm(container, { recursive: true, force: true });
}, budget(2_000));

// ---------------------------------------------------------------------------------------------

type Cmd = {
  name: string;
  colour?: 'required' | 'optional';
  args: number;
  extraOptional?: number;
  flags: string[];
  valued?: Array<[string, string[]]>;
};
const COMMANDS: Cmd[] = [
  { name: 'init', args: 0, flags: ['--skip-tests', '-y', '--force-unlock'], valued: [['--ref', ['HEAD']]] },
  {
    name: 'deploy',
    args: 0,
    flags: ['--auto-switch', '--skip-tests', '--skip-backup', '--keep-old', '--pull'],
    valued: [
      ['--ref', ['v1']],
      ['--canary', ['10,100']],
      ['--step-wait', ['5s']],
    ],
  },
  { name: 'rollback', args: 0, flags: ['--force', '-f'] },
  { name: 'switch', colour: 'required', args: 0, flags: ['--force'], valued: [['--weight', ['10']]] },
  { name: 'preview', colour: 'required', args: 0, flags: [] },
  { name: 'maintenance', args: 1, flags: [], valued: [['--message', ['back soon']]] },
  { name: 'health', colour: 'required', args: 0, flags: [], valued: [['--timeout', ['1', '2s']]] },
  { name: 'smoke', colour: 'required', args: 0, flags: [] },
  { name: 'status', args: 0, flags: ['--json'] },
  { name: 'history', args: 0, flags: ['--json'], valued: [['-n', ['3']]] },
  { name: 'backup', args: 0, flags: [] },
  { name: 'backups', args: 0, flags: ['--json'] },
  { name: 'restore', args: 1, flags: ['--yes', '--force-unlock'] },
  { name: 'logs', colour: 'required', args: 0, extraOptional: 1, flags: ['-f'] },
  { name: 'down', colour: 'optional', args: 0, flags: ['--shared', '--yes'] },
  { name: 'demo', args: 0, flags: ['--keep'], valued: [['--requests', ['10']]] },
  { name: 'proxy', args: 0, flags: [], valued: [['--project', ['.', '../sibling']]] },
];

const NOISE = fc.oneof(
  fc.constantFrom(
    '../../etc/passwd',
    '/etc/passwd',
    '..%2f..%2fetc%2fpasswd',
    '../sibling',
    'a\nb',
    'line one\nline two\r\n',
    '\u001b[2J\u001b[31mred',
    '\u2028',
    '日本語',
    '${HOME}',
    '$(touch pwned)',
    '`touch pwned`',
    '; touch /tmp/pwned',
    '*',
    '~',
    ' ',
    '',
    'blue\n',
    'x'.repeat(100_000),
    '%n%s%x',
    '\\',
  ),
  fc.string({ maxLength: 20 }).filter((s) => !s.includes('\u0000')),
);
const BAD_COLOUR = fc.oneof(
  fc.constantFrom(
    'purple',
    'Blue',
    'GREEN',
    'blue ',
    ' green',
    '',
    'blu',
    'blue\ngreen',
    '../blue',
    'b'.repeat(100_000),
    '\u001b[34mblue',
  ),
  NOISE.filter((s) => s !== 'blue' && s !== 'green'),
);
const BAD_FLAG = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcxyz-0123'.split('')), minLength: 1, maxLength: 10 }).map((s) => `--zz-${s}`),
  fc.constantFrom(
    '-Q',
    '-Z',
    '-X',
    '--zz',
    '---',
    '--no-such-flag',
    '--auto-switch=maybe',
    `--${'q'.repeat(60_000)}`,
    '--\u001b[31m',
    '--a\nb',
  ),
);

const DURATIONS = ['soon', '-1', '1e999', '', 'x'.repeat(1000), '1\n2'];
const COUNTS = ['abc', '0', '-3', '1.5', '', '99999999999', ' 1'];
/** Values each valued option must refuse (options not named here take any string). */
const BAD_VALUES: Record<string, string[]> = {
  '--timeout': DURATIONS,
  '--step-wait': DURATIONS,
  '-n': COUNTS,
  '--requests': COUNTS,
  '--weight': ['150', '-1', 'abc', '', '1.5', '10%', '0x10'],
  '--canary': ['50,10', '10,50', '0,100', 'abc', '', '101,100', '10,,100', '10,100\n'],
};

const positionalNoise = NOISE.filter((s) => !s.startsWith('-'));

/**
 * argv for `cmd` with exactly one kind of error planted among valid-looking flags and noise:
 * an unknown option, an argument too many, a bad colour, or a bad option value.
 */
function badArgv(cmd: Cmd): fc.Arbitrary<string[]> {
  const slots = (cmd.colour ? 1 : 0) + cmd.args + (cmd.extraOptional ?? 0);
  const full = (colour: string, rest: string[]) => [...(cmd.colour ? [colour] : []), ...rest];
  const someArgs = fc.array(positionalNoise, { minLength: cmd.args, maxLength: cmd.args + (cmd.extraOptional ?? 0) });
  const flags = fc.subarray([...cmd.flags, ...(cmd.valued ?? []).map(([f, vs]) => `${f}=${vs[0]}`)]);
  const colour = fc.constantFrom('blue', 'green');
  const kinds: Array<fc.Arbitrary<{ positional: string[]; options: string[] }>> = [
    // An unknown option, anywhere among the valid ones.
    fc.tuple(colour, someArgs, flags, BAD_FLAG, fc.nat()).map(([c, rest, fl, bad, at]) => {
      fl.splice(at % (fl.length + 1), 0, bad);
      return { positional: full(c, rest), options: fl };
    }),
    // Every slot filled, then one or two arguments more.
    fc
      .tuple(
        colour,
        fc.array(positionalNoise, { minLength: slots - (cmd.colour ? 1 : 0), maxLength: slots - (cmd.colour ? 1 : 0) }),
        fc.array(positionalNoise, { minLength: 1, maxLength: 2 }),
        flags,
      )
      .map(([c, rest, more, fl]) => ({
        positional: [...full(c, rest), ...more],
        options: fl,
      })),
  ];
  if (cmd.colour === 'required') {
    kinds.push(
      fc
        .tuple(
          BAD_COLOUR.filter((x) => !x.startsWith('-')),
          someArgs,
          flags,
        )
        .map(([c, rest, fl]) => ({ positional: [c, ...rest], options: fl })),
    );
  }
  for (const [f] of cmd.valued ?? []) {
    const bad = BAD_VALUES[f] ?? [];
    if (bad.length)
      kinds.push(
        fc
          .tuple(colour, someArgs, fc.constantFrom(...bad))
          .map(([c, rest, v]) => ({ positional: full(c, rest), options: [`${f}=${v}`] })),
      );
  }
  return fc.oneof(...kinds).map((k) => [cmd.name, ...k.positional, ...k.options]);
}

describe('random bad argv for every command', { concurrency: 3 }, () => {
  for (const cmd of COMMANDS) {
    test(`${cmd.name}: exit 2, one line, no stack trace, nothing written (seed ${SEED})`, budget(4_800), async () => {
      const before = snapshot();
      await fc.assert(
        fc.asyncProperty(badArgv(cmd), async (argv) => {
          assertUsageError(await cli(argv), argv);
        }),
        { numRuns: Math.max(4, Math.round(RUNS / 5)), seed: SEED, endOnFailure: true },
      );
      assert.deepEqual(diff(before), NOTHING, `${cmd.name} wrote to the file system`);
      assert.ok(!fs.existsSync('/tmp/pwned') && !fs.existsSync(path.join(project, 'pwned')));
    });
  }

  test('unknown commands and top-level junk', budget(3_700), async () => {
    const before = snapshot();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          NOISE.filter((s) => !['', '-', 'help'].includes(s) && !s.startsWith('-')),
          BAD_FLAG,
        ),
        fc.array(NOISE, { maxLength: 3 }),
        async (first, rest) => {
          fc.pre(!COMMANDS.some((c) => c.name === first) && !['reap', 'help'].includes(first));
          const argv = [first, ...rest];
          assertUsageError(await cli(argv), argv);
        },
      ),
      { numRuns: Math.max(6, Math.round(RUNS / 4)), seed: SEED, endOnFailure: true },
    );
    assert.deepEqual(diff(before), NOTHING);
  });

  test('-c with hostile config paths: exit 2 naming the problem, nothing written', budget(2_200), async () => {
    const before = snapshot();
    for (const c of [
      '../../etc/passwd',
      '/etc/passwd',
      '../sibling',
      '../sibling/outside.txt',
      '/dev/zero',
      '/proc/self/environ',
      'nope\n✗ forged line.yml',
      '\u001b[31mred.yml',
      'x'.repeat(5000),
    ]) {
      const argv = ['status', '-c', c];
      const r = await cli(argv);
      assertUsageError(r, argv);
    }
    assert.deepEqual(diff(before), NOTHING);
  });
});

describe('restore only restores backups from the backup folder', () => {
  test(
    'traversal, absolute paths, symlinks out of the folder and a symlinked `latest` ' +
      'are refused with exit 2, before anything runs',
    budget(3_700),
    async () => {
      const before = snapshot();
      const outside = [
        '../../etc/passwd',
        '/etc/passwd',
        path.join(sibling, 'outside.txt'),
        '../sibling/outside.txt',
        'backups/../../sibling/outside.txt',
        'db-backup-20991231-235959-evil.dump',
        path.join(project, 'backups', 'db-backup-20991231-235959-evil.dump'),
        'passwd-link.sql',
        'latest',
        '..',
        '.',
        './switchyard.yml',
        '/',
        `${'../'.repeat(30)}etc/shadow`,
      ];
      for (const ref of outside) {
        const argv = ['restore', ref, '--yes'];
        const r = await cli(argv);
        assertUsageError(r, argv);
        assert.match(r.stderr, /is not a backup in .*: only backups in the backup folder can be restored/, r.stderr);
      }
      // Names inside the folder that are not a complete backup: RESTORE_FAILED as before (exit 1), also one clean line.
      for (const ref of [
        `${GOOD}.json`,
        'switchyard.yml',
        '..%2fsibling%2foutside.txt',
        'a\nb\u001b[31m',
        'db-backup-20990101-000000-nope.dump',
      ]) {
        const r = await cli(['restore', ref, '--yes']);
        assert.equal(r.code, 1, r.stderr);
        const lines = r.stderr.split('\n').filter((l) => l !== '');
        assert.match(lines[0]!, /^✗ no backup named /);
        for (const l of lines) assert.ok(!CONTROL.test(l), JSON.stringify(l));
      }
      assert.deepEqual(
        diff(before),
        NOTHING,
        'a refused restore changed something (safety backup, lock, history or the restore command ran)',
      );
      assert.ok(!fs.existsSync(path.join(project, 'restored.out')));
    },
  );

  test(
    'a backup in the folder is restored (so the refusals above are about the name, not the setup)',
    budget(400),
    async () => {
      const before = snapshot();
      const r = await cli(['restore', GOOD, '--yes']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(await fsp.readFile(path.join(project, 'restored.out'), 'utf8'), 'GOOD DUMP\n');
      const d = diff(before);
      const outsideProject = [...d.added, ...d.changed, ...d.removed].filter(
        (p) => !p.startsWith(`project${path.sep}`),
      );
      assert.deepEqual(outsideProject, [], 'a restore wrote outside the project folder');
    },
  );
});
