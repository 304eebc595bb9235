import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import {
  backupId,
  backupName,
  listBackups,
  parseBackupName,
  partialOf,
  pruneBackups,
  resolveBackup,
  sidecarOf,
  verificationOf,
} from '../../src/backup/files.ts';
import { commandBackupper } from '../../src/backup/command.ts';
import { ensureBackupDir, writeBackup, type WriteBackupOptions } from '../../src/backup/write.ts';
import { backupSchema, type CommandBackupConfig } from '../../src/config/backup-schema.ts';
import { SwitchyardError } from '../../src/errors.ts';

const root = mkdtempSync(path.join(tmpdir(), 'sy-backup-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => path.join(root, `d${++n}`, 'backups');
const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

const writeText = (text: string) => async (out: Writable) => {
  await new Promise<void>((res, rej) => out.end(text, (e?: Error | null) => (e ? rej(e) : res())));
};

function opts(dir: string, over: Partial<WriteBackupOptions> = {}): WriteBackupOptions {
  return {
    dir,
    ext: 'dump',
    format: 'custom',
    reason: 'manual',
    produce: writeText('DUMP DATA\n'),
    verify: async () => undefined,
    ...over,
  };
}

/** Everything in dir, hidden files included. */
const entries = async (dir: string) => (await fs.readdir(dir)).sort();

async function fakeBackup(dir: string, at: string, id: string, opts: { sidecar?: boolean; ext?: string } = {}) {
  const name = backupName(new Date(at), id, opts.ext ?? 'dump');
  const file = path.join(dir, name);
  await fs.writeFile(file, `dump ${id}\n`, { mode: 0o600 });
  if (opts.sidecar !== false) {
    await fs.writeFile(
      sidecarOf(file),
      JSON.stringify({ at, reason: 'manual', format: 'custom', bytes: 10, verified: true, ms: 5 }),
    );
  }
  return name;
}

async function backdate(file: string, msAgo: number) {
  const t = new Date(Date.now() - msAgo);
  await fs.utimes(file, t, t);
}

describe('backup names', () => {
  test('db-backup-<yyyymmdd>-<hhmmss>-<id>.<ext> in UTC, and back', () => {
    const name = backupName(new Date('2025-01-02T03:04:05.678Z'), 'd-123', 'dump');
    assert.equal(name, 'db-backup-20250102-030405-d-123.dump');
    assert.deepEqual(parseBackupName(name), { at: '2025-01-02T03:04:05.000Z', id: 'd-123', ext: 'dump' });
    assert.equal(parseBackupName('db-backup-20250102-030405-d-123.dump.json'), undefined);
    assert.equal(parseBackupName('.db-backup-20250102-030405-d-123.dump.partial'), undefined);
  });
  test('ids: the deploy id made file-safe, else manual-/pre-restore- and a random part', () => {
    assert.equal(backupId('deploy', '20250102T0304/ab.c'), '20250102T0304-ab-c');
    assert.match(backupId('manual'), /^manual-[0-9a-f]{6}$/);
    assert.match(backupId('pre-restore'), /^pre-restore-[0-9a-f]{6}$/);
    assert.notEqual(backupId('manual'), backupId('manual'));
  });
});

describe('writeBackup', () => {
  test('a complete dump: folder 0700, dump and sidecar 0600, no partial, sidecar fields', async () => {
    const dir = freshDir();
    const meta = await writeBackup(opts(dir, { reason: 'deploy', deployId: 'dep42' }));
    assert.equal(await mode(dir), 0o700);
    assert.match(meta.name, /^db-backup-\d{8}-\d{6}-dep42\.dump$/);
    assert.equal(meta.file, path.join(dir, meta.name));
    assert.equal(await fs.readFile(meta.file, 'utf8'), 'DUMP DATA\n');
    assert.equal(await mode(meta.file), 0o600);
    assert.equal(await mode(sidecarOf(meta.file)), 0o600);
    assert.deepEqual(await entries(dir), [meta.name, `${meta.name}.json`]);
    const side = JSON.parse(await fs.readFile(sidecarOf(meta.file), 'utf8'));
    assert.deepEqual(Object.keys(side).sort(), ['at', 'bytes', 'deployId', 'format', 'ms', 'reason', 'verified']);
    assert.equal(side.bytes, 10);
    assert.equal(side.verified, true);
    assert.equal(side.deployId, 'dep42');
    assert.equal(side.reason, 'deploy');
  });

  test('an existing looser folder is tightened to 0700', async () => {
    const dir = freshDir();
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await fs.chmod(dir, 0o755);
    await ensureBackupDir(dir);
    assert.equal(await mode(dir), 0o700);
  });

  test('the temp file is hidden, 0600 while being written, and gone after a failed producer', async () => {
    const dir = freshDir();
    let seen: { names: string[]; mode: number } | undefined;
    const err = await writeBackup(
      opts(dir, {
        produce: async (out) => {
          out.write('half a dump');
          const names = await entries(dir);
          seen = { names, mode: await mode(path.join(dir, names[0]!)) };
          throw new SwitchyardError('BACKUP_FAILED', 'pg_dump died');
        },
      }),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof SwitchyardError && err.message === 'pg_dump died');
    assert.equal(seen?.names.length, 1);
    assert.match(seen!.names[0]!, /^\.db-backup-\d{8}-\d{6}-manual-[0-9a-f]{6}\.dump\.partial$/);
    assert.equal(seen!.mode, 0o600);
    assert.deepEqual(await entries(dir), []);
  });

  test('a producer that fails while its write is in flight: its error, nothing left, nothing uncaught', async () => {
    const dir = freshDir();
    const uncaught: unknown[] = [];
    const note = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', note);
    try {
      // One turn of the event loop after the write: it is in flight (in the thread pool) when the
      // failure destroys the stream, and completes after that.
      const err = await writeBackup(
        opts(dir, {
          produce: async (out) => {
            out.write('x'.repeat(1 << 20));
            await new Promise((r) => setImmediate(r));
            throw new SwitchyardError('BACKUP_FAILED', 'pg_dump died at once');
          },
        }),
      ).catch((e: unknown) => e);
      assert.ok(err instanceof SwitchyardError && err.message === 'pg_dump died at once', String(err));
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(uncaught, []);
      assert.deepEqual(await entries(dir), []);
    } finally {
      process.off('uncaughtException', note);
    }
  });

  test('failed verification, an empty dump and an abort leave nothing', async () => {
    const dir = freshDir();
    const verifyErr = await writeBackup(
      opts(dir, { verify: async () => Promise.reject(new SwitchyardError('BACKUP_FAILED', 'unreadable')) }),
    ).catch((e: unknown) => e);
    assert.equal((verifyErr as SwitchyardError).message, 'unreadable');
    const emptyErr = await writeBackup(opts(dir, { produce: writeText('') })).catch((e: unknown) => e);
    assert.equal((emptyErr as SwitchyardError).code, 'BACKUP_FAILED');
    assert.match((emptyErr as SwitchyardError).message, /empty/);
    const ac = new AbortController();
    const abortErr = await writeBackup(
      opts(dir, {
        signal: ac.signal,
        produce: async (out) => {
          await writeText('all of it\n')(out);
          ac.abort();
        },
      }),
    ).catch((e: unknown) => e);
    assert.equal((abortErr as SwitchyardError).code, 'ABORTED');
    assert.deepEqual(await entries(dir), []);
  });

  test('a folder that cannot be created is a BACKUP_FAILED with a hint', async () => {
    const file = path.join(root, `plain-file-${++n}`);
    await fs.writeFile(file, 'x');
    const err = await writeBackup(opts(path.join(file, 'backups'))).catch((e: unknown) => e);
    assert.ok(err instanceof SwitchyardError);
    assert.equal(err.code, 'BACKUP_FAILED');
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /cannot use the backup folder/);
    assert.ok(err.hint);
  });
});

describe('verification is claimed only where a dump was read back', () => {
  test('without a verifier the sidecar says not verified, checked non-empty; with one, verified', async () => {
    const dir = freshDir();
    const { verify: _none, ...noVerifier } = opts(dir);
    const meta = await writeBackup({ ...noVerifier, ext: 'txt', format: 'txt' });
    assert.equal(meta.verified, false);
    const side = JSON.parse(await fs.readFile(sidecarOf(meta.file), 'utf8'));
    assert.equal(side.verified, false);
    assert.equal(side.check, 'non-empty');
    const [listed] = await listBackups(dir);
    assert.equal(listed!.verified, false);
    assert.equal(verificationOf(listed!), 'not verified (only checked non-empty)');

    let read = 0;
    const checked = await writeBackup(
      opts(freshDir(), { verify: async (tmp) => void (read = (await fs.readFile(tmp)).length) }),
    );
    assert.equal(read, 10, 'the verifier read the temp file');
    assert.equal(checked.verified, true);
    assert.equal(JSON.parse(await fs.readFile(sidecarOf(checked.file), 'utf8')).check, undefined);
    assert.equal(verificationOf((await listBackups(path.dirname(checked.file)))[0]!), 'verified');
  });

  test('kind: command dumps are recorded and listed as not verified (only non-emptiness is known)', async () => {
    const projectDir = path.join(root, `cmd-${++n}`);
    const cfg = backupSchema.parse({
      kind: 'command',
      dump: ['sh', '-c', 'echo some dump'],
      extension: 'txt',
      dir: 'backups',
    }) as CommandBackupConfig;
    const b = commandBackupper(cfg, { projectDir, redact: (x) => x });
    const meta = await b.backup({ reason: 'manual' });
    assert.equal(meta.verified, false);
    assert.equal(await fs.readFile(meta.file, 'utf8'), 'some dump\n');
    const side = JSON.parse(await fs.readFile(sidecarOf(meta.file), 'utf8'));
    assert.deepEqual([side.verified, side.check], [false, 'non-empty']);
    const [listed] = await b.list();
    assert.equal(listed!.name, meta.name);
    assert.equal(verificationOf(listed!), 'not verified (only checked non-empty)');
    // An empty dump is still refused: non-empty is the check that does run.
    const empty = commandBackupper(
      backupSchema.parse({ kind: 'command', dump: ['true'], dir: 'empty' }) as CommandBackupConfig,
      { projectDir, redact: (x) => x },
    );
    await assert.rejects(empty.backup({ reason: 'manual' }), /came out empty/);
  });

  test(
    'a sidecar claiming "verified" for a format nothing reads back (older versions) ' + 'is listed as not verified',
    async () => {
      const dir = freshDir();
      await fs.mkdir(dir, { recursive: true });
      const old = backupName(new Date('2025-03-02T00:00:00Z'), 'dep-old', 'txt');
      await fs.writeFile(path.join(dir, old), 'dump\n');
      await fs.writeFile(
        sidecarOf(path.join(dir, old)),
        JSON.stringify({
          at: '2025-03-02T00:00:00.000Z',
          reason: 'deploy',
          deployId: 'dep-old',
          format: 'txt',
          bytes: 5,
          verified: true,
          ms: 3,
        }),
      );
      const custom = await fakeBackup(dir, '2025-03-01T00:00:00.000Z', 'dep-custom');
      const [a, b] = await listBackups(dir);
      assert.equal(a!.name, old);
      assert.equal(a!.verified, false);
      assert.equal(verificationOf(a!), 'not verified (only checked non-empty)');
      assert.equal(b!.name, custom);
      assert.equal(verificationOf(b!), 'verified', 'a custom dump verified by pg_restore --list stays verified');
      // No sidecar at all: nothing is known, and the listing says so plainly.
      const bare = await fakeBackup(dir, '2025-03-03T00:00:00.000Z', 'dep-bare', { sidecar: false });
      assert.equal(verificationOf((await listBackups(dir)).find((m) => m.name === bare)!), 'NOT verified');
    },
  );
});

describe('listBackups', () => {
  test(
    'newest first; a dump without sidecar is listed from its name, unverified; ' +
      'partials, sidecars and strangers are not',
    async () => {
      const dir = freshDir();
      await fs.mkdir(dir, { recursive: true });
      const a = await fakeBackup(dir, '2025-01-01T10:00:00.000Z', 'manual-aaaaaa');
      const b = await fakeBackup(dir, '2025-01-03T10:00:00.000Z', 'dep7', { sidecar: false });
      const c = await fakeBackup(dir, '2025-01-02T10:00:00.000Z', 'pre-restore-cccccc', { sidecar: false, ext: 'sql' });
      await fs.writeFile(path.join(dir, `.${a}.partial`), 'half');
      await fs.writeFile(path.join(dir, 'notes.txt'), 'hello');
      const list = await listBackups(dir);
      assert.deepEqual(
        list.map((m) => m.name),
        [b, c, a],
      );
      assert.deepEqual(list[0], {
        file: path.join(dir, b),
        name: b,
        at: '2025-01-03T10:00:00.000Z',
        deployId: 'dep7',
        reason: 'deploy',
        format: 'custom',
        bytes: 10,
        verified: false,
        ms: 0,
      });
      assert.equal(list[1]!.reason, 'pre-restore');
      assert.equal(list[1]!.format, 'plain');
      assert.equal(list[2]!.verified, true);
      assert.equal(list[2]!.ms, 5);
      assert.equal(list[2]!.deployId, undefined);
    },
  );
  test('a missing folder lists nothing', async () => {
    assert.deepEqual(await listBackups(path.join(root, 'nope')), []);
  });
});

describe('pruneBackups', () => {
  test(
    'keeps the newest `keep` and every protected one; removes sidecars too; ' +
      'stale partials and orphaned sidecars go',
    async () => {
      const dir = freshDir();
      await fs.mkdir(dir, { recursive: true });
      const names: string[] = [];
      for (let d = 1; d <= 7; d++) names.push(await fakeBackup(dir, `2025-01-0${d}T00:00:00.000Z`, `dep${d}`));
      const stale = partialOf(path.join(dir, backupName(new Date('2025-01-08T00:00:00Z'), 'dep8', 'dump')));
      const fresh = partialOf(path.join(dir, backupName(new Date('2025-01-09T00:00:00Z'), 'dep9', 'dump')));
      const orphan = sidecarOf(path.join(dir, backupName(new Date('2024-12-01T00:00:00Z'), 'gone', 'dump')));
      for (const f of [stale, fresh, orphan]) await fs.writeFile(f, 'x');
      await backdate(stale, 2 * 3600_000);
      await backdate(orphan, 2 * 3600_000);
      // A complete backup's sidecar is never a leftover, however old.
      await backdate(sidecarOf(path.join(dir, names[6]!)), 5 * 3600_000);

      const removed = await pruneBackups(dir, 3, [names[0]!, path.join(dir, names[5]!)]);
      assert.deepEqual(removed.sort(), [names[1], names[2], names[3]].sort());
      const left = await entries(dir);
      const expected = [names[0]!, names[4]!, names[5]!, names[6]!].flatMap((x) => [x, `${x}.json`]);
      expected.push(path.basename(fresh));
      assert.deepEqual(left, expected.sort());
      assert.deepEqual(
        (await listBackups(dir)).map((m) => m.name),
        [names[6], names[5], names[4], names[0]],
      );
    },
  );
});

describe('resolveBackup', () => {
  test('latest, a bare name, a path; a missing name lists the newest; partials are refused', async () => {
    const dir = freshDir();
    await fs.mkdir(dir, { recursive: true });
    const older = await fakeBackup(dir, '2025-02-01T00:00:00.000Z', 'dep1');
    const newer = await fakeBackup(dir, '2025-02-02T00:00:00.000Z', 'dep2');
    assert.equal((await resolveBackup(dir, 'latest')).name, newer);
    assert.equal((await resolveBackup(dir, older)).file, path.join(dir, older));
    // A path (absolute, or relative to cwd) works when it leads into the backup folder.
    assert.equal((await resolveBackup(dir, path.join(dir, older))).name, older);
    const rel = path.relative(root, path.join(dir, older));
    assert.equal((await resolveBackup(dir, rel, { cwd: root })).file, path.join(dir, older));

    const missing = await resolveBackup(dir, 'db-backup-20990101-000000-x.dump').catch((e: unknown) => e);
    assert.ok(missing instanceof SwitchyardError);
    assert.equal(missing.code, 'RESTORE_FAILED');
    assert.ok(missing.hint?.includes(newer) && missing.hint.includes(older));
    await fs.writeFile(path.join(dir, `.${newer}.partial`), 'half');
    await assert.rejects(resolveBackup(dir, `.${newer}.partial`), /no backup named/);
    await assert.rejects(resolveBackup(dir, 'latest', { allowLatest: false }), /no backup named latest/);
    await assert.rejects(resolveBackup(freshDir(), 'latest'), /no complete backup/);
  });
});
