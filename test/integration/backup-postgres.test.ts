import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openBackupper } from '../../src/backup/index.ts';
import { hostPgTool } from '../../src/backup/pg-host.ts';
import { postgresBackupper } from '../../src/backup/postgres.ts';
import type { Backupper } from '../../src/backup/types.ts';
import { backupSchema, type PostgresBackupConfig } from '../../src/config/backup-schema.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { childProcesses, createBigTable, isProgram, type ProcInfo } from '../helpers/backup-procs.ts';
import { budget } from '../helpers/budget.ts';

// Characters that must survive URL decoding; distinctive, so a leak is easy to spot.
const PASSWORD = 'Pw:s3cr@t/with%odd&chars';
const projectDir = mkdtempSync(path.join(tmpdir(), 'sy-backup-pg-'));
let pg: TestPostgres;

before(async () => {
  pg = await startTestPostgres({ password: PASSWORD });
  await pg.psql(
    `
    CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text, ` +
      `created_at timestamptz NOT NULL DEFAULT '2024-05-01T10:00:00Z');
    CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users(id), ` +
      `total numeric(10,2) NOT NULL, note text);
    CREATE SCHEMA sales;
    CREATE TABLE sales."Odd ""Name"", too" (k text PRIMARY KEY, v jsonb);
    INSERT INTO users (email, name) SELECT 'u' || g || '@example.com', 'User ' || g FROM generate_series(1, 50) g;
    INSERT INTO orders (user_id, total, note) SELECT 1 + g % 50, g * 1.25, ` +
      `CASE WHEN g % 7 = 0 THEN E'tab\\there, quote '' and newline\\n' END FROM generate_series(1, 120) g;
    INSERT INTO sales."Odd ""Name"", too" VALUES ('a', '{"x": 1}'), ('b', '[1, 2]'), ('c', 'null');
  `,
  );
}, budget(1_700));
after(async () => {
  await pg?.cleanup();
  rmSync(projectDir, { recursive: true, force: true });
}, budget(500));

function config(over: Record<string, unknown> = {}): PostgresBackupConfig {
  return backupSchema.parse({ kind: 'postgres', url: pg.url(), timeout: '2m', ...over }) as PostgresBackupConfig;
}
const open = (over: Record<string, unknown> = {}): Backupper =>
  postgresBackupper(config(over), hostPgTool(config(over).url!), { projectDir, redact: (s) => s });

/** pg_dump 15.14+ writes a random `\restrict` key into every plain dump; everything else must match byte for byte. */
const normalise = (dump: string) => dump.replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict KEY');

async function changeEverything() {
  await pg.psql(`
    UPDATE users SET name = 'changed' WHERE id % 3 = 0;
    DELETE FROM orders WHERE id > 100;
    INSERT INTO users (email) VALUES ('new@example.com');
    SELECT nextval('users_id_seq');
    DROP TABLE sales."Odd ""Name"", too";
  `);
}

const expectedCounts = [
  { name: 'public.orders', rows: 120 },
  { name: 'public.users', rows: 50 },
  { name: 'sales.Odd "Name", too', rows: 3 },
];

describe("postgres backups through this machine's pg_dump", () => {
  for (const format of ['plain', 'custom'] as const) {
    test(
      `${format}: backup, change the data, restore: the database is as it was, byte for byte`,
      budget(800),
      async () => {
        const b = open({ format, dir: `backups-${format}` });
        const beforeText = await pg.dumpText();
        const meta = await b.backup({ reason: 'deploy', deployId: `d-${format}` });
        assert.equal(meta.name, path.basename(meta.file));
        assert.match(
          meta.name,
          new RegExp(`^db-backup-\\d{8}-\\d{6}-d-${format}\\.${format === 'custom' ? 'dump' : 'sql'}$`),
        );
        assert.equal(meta.verified, true);
        assert.equal(meta.format, format);
        assert.equal(meta.bytes, (await fs.stat(meta.file)).size);
        assert.ok(meta.bytes > 1000);
        assert.equal((await fs.stat(meta.file)).mode & 0o777, 0o600);
        assert.equal((await fs.stat(path.dirname(meta.file))).mode & 0o777, 0o700);
        const head = (await fs.readFile(meta.file)).subarray(0, 5).toString('latin1');
        if (format === 'custom') assert.equal(head, 'PGDMP');
        else assert.match(await fs.readFile(meta.file, 'utf8'), /DROP TABLE IF EXISTS public\.orders;/);
        assert.deepEqual(await b.list(), [meta]);

        await changeEverything();
        assert.notEqual(normalise(await pg.dumpText()), normalise(beforeText));

        const result = await b.restore(meta.name);
        assert.equal(normalise(await pg.dumpText()), normalise(beforeText));
        assert.deepEqual(result.tables, expectedCounts);
        assert.ok(result.ms > 0);
      },
    );
  }

  test('a restore by path, and restoring a copy whose extension lies (the content decides)', budget(600), async () => {
    const b = open({ format: 'custom', dir: 'backups-path' });
    const beforeText = await pg.dumpText();
    const meta = await b.backup({ reason: 'manual' });
    // Only files in the backup folder may be restored (see resolveBackup): the copy goes there.
    const copy = path.join(path.dirname(meta.file), 'copied.sql');
    await fs.copyFile(meta.file, copy);
    await changeEverything();
    const result = await b.restore(copy);
    assert.equal(normalise(await pg.dumpText()), normalise(beforeText));
    assert.deepEqual(result.tables, expectedCounts);
  });

  test(
    'retention: 7 backups with keep 5 leave exactly the newest 5 complete ones and nothing partial',
    budget(1_100),
    async () => {
      const b = open({ format: 'custom', dir: 'backups-retention', keep: 5 });
      const taken: string[] = [];
      for (let i = 0; i < 7; i++) {
        taken.push((await b.backup({ reason: 'manual' })).name);
        await b.prune([]);
      }
      const newest5 = taken.slice(2).reverse();
      assert.deepEqual(
        (await b.list()).map((m) => m.name),
        newest5,
      );
      const entries = (await fs.readdir(path.join(projectDir, 'backups-retention'))).sort();
      assert.deepEqual(entries, newest5.flatMap((n) => [n, `${n}.json`]).sort());
    },
  );

  test('the password is never in the argv of the running pg_dump, nor in describe()', budget(2_200), async () => {
    await createBigTable(pg, 'big', 200_000);
    const b = open({ format: 'custom', dir: 'backups-argv', url: pg.url('big') });
    assert.ok(!b.describe().includes(PASSWORD) && !b.describe().includes(encodeURIComponent(PASSWORD)));
    assert.match(b.describe(), /^postgres big at 127\.0\.0\.1:\d+ \(custom dumps with this machine's pg_dump\)$/);
    // Every reading: a pid's argv changes when Debian's pg_wrapper execs the real pg_dump.
    const seen: ProcInfo[] = [];
    const running = b.backup({ reason: 'manual' });
    let done = false;
    void running.finally(() => (done = true)).catch(() => undefined);
    while (!done) {
      for (const p of childProcesses()) if (p.argv.length) seen.push(p);
      await new Promise((r) => setTimeout(r, 2));
    }
    const meta = await running;
    const dumps = seen.filter((p) => isProgram(p, 'pg_dump'));
    assert.ok(dumps.length > 0, `expected to catch the running pg_dump, saw ${JSON.stringify(seen.slice(0, 20))}`);
    assert.ok(meta.bytes > 1_000_000);
    for (const p of seen) {
      const argv = p.argv.join(' ');
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), 's3cr@t'])
        assert.ok(!argv.includes(secret), `${secret} in argv: ${argv}`);
      assert.ok(!argv.includes('postgres://'), `a URL in argv: ${argv}`);
    }
    assert.deepEqual(dumps[0]!.argv.slice(1), ['--no-password', '--format=custom', '--no-owner']);
  });

  test(
    'ping answers through psql; openBackupper picks the host tool for url and none for kind none',
    budget(100),
    async () => {
      const b = openBackupper(config({ dir: 'backups-open' }), { projectDir, app: 'demo', redact: (s) => s });
      assert.ok(b?.ping);
      await b.ping({ timeoutMs: 5000 });
      assert.equal(openBackupper({ kind: 'none' }, { projectDir, app: 'demo', redact: (s) => s }), undefined);
      assert.throws(
        () =>
          openBackupper(backupSchema.parse({ kind: 'postgres', container: 'db' }), {
            projectDir,
            app: 'demo',
            redact: (s) => s,
          }),
        /needs the docker runtime/,
      );
    },
  );
});
