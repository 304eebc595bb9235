import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandBackupper } from '../../src/backup/command.ts';
import { hostPgTool } from '../../src/backup/pg-host.ts';
import { postgresBackupper } from '../../src/backup/postgres.ts';
import type { Backupper } from '../../src/backup/types.ts';
import { backupSchema, type CommandBackupConfig, type PostgresBackupConfig } from '../../src/config/backup-schema.ts';
import { SwitchyardError } from '../../src/errors.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { childProcesses, createBigTable, isProgram, partialBytes, poll, processGone } from '../helpers/backup-procs.ts';
import { budget } from '../helpers/budget.ts';

const PASSWORD = 'faults-Secret-4711';
const projectDir = mkdtempSync(path.join(tmpdir(), 'sy-backup-faults-'));
let pg: TestPostgres;
let n = 0;
// Identity: the messages must not hold the password even before redaction.
const ctx = { projectDir, redact: (s: string) => s };

before(async () => {
  pg = await startTestPostgres({ password: PASSWORD });
  await pg.psql(
    `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 1000) g;`,
  );
  await createBigTable(pg, 'big', 200_000);
}, budget(2_300));
after(async () => {
  await pg?.cleanup();
  rmSync(projectDir, { recursive: true, force: true });
}, budget(500));

/** A fresh backup folder name for each case, so "nothing left" means an empty (or absent) folder. */
const freshDir = () => `backups-${++n}`;

function pgConfig(over: Record<string, unknown> = {}): PostgresBackupConfig {
  return backupSchema.parse({
    kind: 'postgres',
    url: pg.url(),
    timeout: '1m',
    dir: freshDir(),
    ...over,
  }) as PostgresBackupConfig;
}
function postgres(over: Record<string, unknown> = {}, tool?: { pathEnv?: string }): { b: Backupper; dir: string } {
  const cfg = pgConfig(over);
  return { b: postgresBackupper(cfg, hostPgTool(cfg.url!, tool), ctx), dir: path.join(projectDir, cfg.dir) };
}
function command(over: Record<string, unknown>): { b: Backupper; dir: string } {
  const cfg = backupSchema.parse({ kind: 'command', dir: freshDir(), ...over }) as CommandBackupConfig;
  return { b: commandBackupper(cfg, ctx), dir: path.join(projectDir, cfg.dir) };
}

/** The failure is a SwitchyardError for exit code 1 with a hint, says `message`, and leaks no password. */
async function expectFault(
  p: Promise<unknown>,
  code: string,
  message: RegExp,
  opts: { hint?: boolean } = {},
): Promise<SwitchyardError> {
  const e = await p.then(
    () => assert.fail('expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof SwitchyardError, `not a SwitchyardError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.equal(e.exitCode, 1);
  assert.match(e.message, message);
  if (opts.hint !== false) assert.ok(e.hint && e.hint.length > 10, `no hint for: ${e.message}`);
  const all = [e.message, e.hint ?? '', ...e.details].join('\n');
  for (const secret of [PASSWORD, 'wrong-Secret-0815']) assert.ok(!all.includes(secret), `password in: ${all}`);
  return e;
}

/** No complete backup, no partial, no sidecar. */
async function assertNothingLeft(dir: string) {
  const left = await fs.readdir(dir).catch(() => [] as string[]);
  assert.deepEqual(left, [], `left behind in ${dir}: ${left.join(', ')}`);
}

/** Starts a backup of the 200k-row database and returns once pg_dump runs and has written into the partial file. */
async function startBigBackup(signal?: AbortSignal) {
  const { b, dir } = postgres({ url: pg.url('big'), format: 'custom' });
  const running = b.backup({ reason: 'manual', signal });
  running.catch(() => undefined);
  const dump = await poll(
    'pg_dump writing',
    async () => {
      const p = childProcesses().find((c) => isProgram(c, 'pg_dump'));
      return p && (await partialBytes(dir)) ? p : undefined;
    },
    20_000,
  );
  return { running, dir, pid: dump.pid };
}

describe('backup faults: a clear error, exit code 1, and no file left', () => {
  test('wrong password', budget(100), async () => {
    const url = pg.url().replace(encodeURIComponent(PASSWORD), 'wrong-Secret-0815');
    const { b, dir } = postgres({ url });
    const e = await expectFault(
      b.backup({ reason: 'manual' }),
      'BACKUP_FAILED',
      /^database backup failed: the database rejected the password for user sy_test$/,
    );
    assert.ok(e.details.some((l) => l.includes('password authentication failed')));
    await assertNothingLeft(dir);
  });

  test('pg_dump missing from PATH', budget(100), async () => {
    const empty = await fs.mkdtemp(path.join(tmpdir(), 'sy-empty-path-'));
    const { b, dir } = postgres({}, { pathEnv: empty });
    const e = await expectFault(
      b.backup({ reason: 'manual' }),
      'BACKUP_FAILED',
      /pg_dump is not installed on this machine/,
    );
    assert.match(e.hint!, /apt-get install postgresql-client/);
    assert.match(e.hint!, /backup\.container/);
    await assertNothingLeft(dir);
    await fs.rm(empty, { recursive: true });
  });

  test('backup folder not writable (its parent is a regular file)', budget(100), async () => {
    const blocker = path.join(projectDir, `not-a-folder-${++n}`);
    await fs.writeFile(blocker, 'x');
    const { b } = postgres({ dir: path.relative(projectDir, path.join(blocker, 'backups')) });
    await expectFault(
      b.backup({ reason: 'manual' }),
      'BACKUP_FAILED',
      /cannot use the backup folder .*not-a-folder-\d+\/backups/,
    );
    assert.equal(await fs.readFile(blocker, 'utf8'), 'x');
  });

  test('pg_dump killed halfway', budget(100), async () => {
    const { running, dir, pid } = await startBigBackup();
    process.kill(pid, 'SIGKILL');
    await expectFault(running, 'BACKUP_FAILED', /^database backup failed: pg_dump was killed by SIGKILL$/);
    await assertNothingLeft(dir);
  });

  test('aborted halfway (Ctrl-C): pg_dump is stopped and nothing is left', budget(100), async () => {
    const ac = new AbortController();
    const { running, dir, pid } = await startBigBackup(ac.signal);
    ac.abort();
    // An interruption needs no hint: the user asked for it.
    await expectFault(running, 'ABORTED', /^pg_dump interrupted$/, { hint: false });
    assert.ok(processGone(pid), 'pg_dump still running after the abort');
    await assertNothingLeft(dir);
  });

  test('a restore that fails halfway changes nothing (one transaction)', budget(1_200), async () => {
    const { b, dir } = postgres({ format: 'plain' });
    const meta = await b.backup({ reason: 'manual' });
    const text = await fs.readFile(meta.file, 'utf8');
    const bad = path.join(dir, 'db-backup-20200101-000000-bad.sql');
    // A complete dump with a broken row in the COPY data: psql fails there, after the DROPs already ran.
    assert.ok(text.includes('500\trow 500\n'));
    await fs.writeFile(bad, text.replace('500\trow 500\n', 'five hundred\trow 500\n'));
    await pg.psql(`UPDATE t SET v = 'marker' WHERE id = 1`);
    const unrestrict = (t: string) => t.replace(/^\\(un)?restrict \S+$/gm, '');
    const beforeText = unrestrict(await pg.dumpText());
    const e = await expectFault(b.restore(bad), 'RESTORE_FAILED', /^restore failed: psql exited with code 3$/);
    assert.ok(
      e.details.some((l) => /ERROR: +invalid input syntax for type integer: "five hundred"/.test(l)),
      e.details.join('\n'),
    );
    assert.equal(unrestrict(await pg.dumpText()), beforeText);

    // Cut inside the COPY data: psql would take the end of input as the end of the rows and succeed.
    const cut = path.join(dir, 'db-backup-20200101-000000-cut.sql');
    await fs.writeFile(cut, text.slice(0, text.indexOf('500\trow 500')));
    await expectFault(b.restore(cut), 'RESTORE_FAILED', /is not a complete plain dump/);
    assert.equal(unrestrict(await pg.dumpText()), beforeText);

    const custom = await postgres({ format: 'custom', dir: path.relative(projectDir, dir) }).b.backup({
      reason: 'manual',
    });
    const bytes = await fs.readFile(custom.file);
    const cutDump = path.join(dir, 'db-backup-20200101-000000-cut.dump');
    await fs.writeFile(cutDump, bytes.subarray(0, bytes.length - 200));
    await expectFault(
      b.restore(cutDump),
      'RESTORE_FAILED',
      /^restore failed: the file is not a complete PostgreSQL custom-format dump$/,
    );
    const garbage = path.join(dir, 'db-backup-20200101-000000-garbage.dump');
    await fs.writeFile(garbage, 'PGDMP this is not an archive');
    await expectFault(b.restore(garbage), 'RESTORE_FAILED', /cannot read the dump's format version/);
    assert.equal(unrestrict(await pg.dumpText()), beforeText);
    await expectFault(b.restore('db-backup-20990101-000000-nope.dump'), 'RESTORE_FAILED', /no backup named/);
  });

  test(
    'kind: command: a failing, a missing and a slow dump command; restore without a restore command',
    budget(600),
    async () => {
      const failing = command({ dump: ['sh', '-c', 'echo half-a-dump; echo "boom: cannot reach db" >&2; exit 3'] });
      const e = await expectFault(
        failing.b.backup({ reason: 'manual' }),
        'BACKUP_FAILED',
        /backup\.dump \(sh -c .*\) exited with code 3/,
      );
      assert.deepEqual(e.details, ['boom: cannot reach db']);
      await assertNothingLeft(failing.dir);

      const shell = command({ dump: 'echo out; exit 5', shell: true });
      await expectFault(shell.b.backup({ reason: 'manual' }), 'BACKUP_FAILED', /exited with code 5/);
      await assertNothingLeft(shell.dir);

      const missing = command({ dump: 'no-such-dumper --all' });
      await expectFault(
        missing.b.backup({ reason: 'manual' }),
        'BACKUP_FAILED',
        /backup\.dump command not found: no-such-dumper/,
      );
      await assertNothingLeft(missing.dir);

      const empty = command({ dump: ['true'] });
      await expectFault(empty.b.backup({ reason: 'manual' }), 'BACKUP_FAILED', /empty/);
      await assertNothingLeft(empty.dir);

      const slow = command({ dump: ['sh', '-c', 'echo started; sleep 30'], timeout: '500ms' });
      const t0 = Date.now();
      const te = await expectFault(slow.b.backup({ reason: 'manual' }), 'BACKUP_FAILED', /timed out after/);
      assert.match(te.hint!, /backup\.timeout/);
      assert.ok(Date.now() - t0 < 5_000, 'the timeout did not stop the command');
      await assertNothingLeft(slow.dir);

      const ok = command({ dump: ['sh', '-c', 'echo some dump'] });
      const meta = await ok.b.backup({ reason: 'manual' });
      await expectFault(ok.b.restore(meta.name), 'RESTORE_FAILED', /backup\.restore is not configured/);
    },
  );

  test('database down: backup, restore and ping say nothing accepts connections', budget(800), async () => {
    const { b, dir } = postgres();
    const meta = await b.backup({ reason: 'manual' });
    await pg.stop();
    try {
      const e = await expectFault(
        b.backup({ reason: 'manual' }),
        'BACKUP_FAILED',
        new RegExp(
          `^database backup failed: nothing accepts connections at 127\\.0\\.0\\.1:${pg.port}: ` +
            'is the database running\\?$',
        ),
      );
      assert.ok(e.details.some((l) => /Connection refused/.test(l)));
      assert.deepEqual(await fs.readdir(dir).then((x) => x.sort()), [meta.name, `${meta.name}.json`]);
      await expectFault(b.restore(meta.name), 'RESTORE_FAILED', /nothing accepts connections at 127\.0\.0\.1/);
      await expectFault(
        b.ping!({ timeoutMs: 3000 }),
        'DATABASE_UNREACHABLE',
        /^database unreachable: nothing accepts connections/,
      );
    } finally {
      await pg.start();
    }
  });
});

describe('kind: command round trip', () => {
  test('dump to stdout, restore from stdin, file named with the extension', budget(100), async () => {
    const target = path.join(projectDir, 'restored.txt');
    const { b } = command({
      dump: ['sh', '-c', 'printf "line one\\nline two\\n"'],
      restore: ['sh', '-c', `cat > ${target}`],
      extension: 'txt',
    });
    const meta = await b.backup({ reason: 'deploy', deployId: 'dep-9' });
    assert.match(meta.name, /^db-backup-\d{8}-\d{6}-dep-9\.txt$/);
    assert.equal(meta.format, 'txt');
    assert.equal(meta.verified, false, 'a command dump is only checked non-empty, never read back');
    const result = await b.restore(meta.file);
    assert.deepEqual(result.tables, []);
    assert.equal(await fs.readFile(target, 'utf8'), 'line one\nline two\n');
  });
});
