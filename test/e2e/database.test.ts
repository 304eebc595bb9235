/**
 * Database safety through the built CLI, on the process runtime with a real private PostgreSQL:
 * deploy backs up before anything changes and records the dump, the migrate hook runs after the
 * health checks and before the switch, a failed migration or backup changes nothing, restore
 * takes a safety backup and brings the data back, retention keeps exactly `keep`, and the
 * password appears in no output, file name or history line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { makeProject, type Project, type RunResult } from '../helpers/project.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';

let p: Project;
let pg: TestPostgres;
const PASSWORD = 'pg-e2e-s3cret/with:odd@chars';

const out = (r: RunResult) => r.stdout + r.stderr;
const cli = (...args: string[]) => p.run(args, { timeoutMs: 120_000 });
const state = async () => JSON.parse((await p.file('.switchyard/state.json'))!);
const history = async () => ((await p.file('.switchyard/history.jsonl')) ?? '').trim().split('\n').map((l) => JSON.parse(l));
const dumps = async () => (await fs.readdir(path.join(p.dir, 'backups')).catch(() => [] as string[])).sort();
const count = async () => Number(await pg.psql('SELECT count(*) FROM items'));
const migration = (sql: string) => fs.writeFile(path.join(p.dir, 'migrations', '001.sql'), sql);

function assertNoSecret(text: string, where: string) {
  assert.ok(!text.includes(PASSWORD) && !text.includes(encodeURIComponent(PASSWORD)), `the database password appears in ${where}`);
}

before(async () => {
  pg = await startTestPostgres({ password: PASSWORD });
  await pg.psql('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); INSERT INTO items SELECT g, $$item $$ || g FROM generate_series(1, 50) g');
  p = await makeProject('fixture');
  const cfg = parse(await fs.readFile(path.join(p.dir, 'switchyard.yml'), 'utf8'));
  cfg.backup = { kind: 'postgres', url: '${DATABASE_URL}', keep: 3 };
  // The migration runs inside the api's release folder with the api's environment (PG* below).
  cfg.services.api.env = { PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: pg.user, PGDATABASE: 'app', PGPASSWORD: '${DB_PASSWORD}' };
  cfg.deploy.hooks = { migrate: { run: 'psql -X -v ON_ERROR_STOP=1 -f migrations/001.sql', service: 'api', timeout: '30s' } };
  await fs.writeFile(path.join(p.dir, 'switchyard.yml'), stringify(cfg));
  await fs.mkdir(path.join(p.dir, 'migrations'));
  await migration('ALTER TABLE items ADD COLUMN IF NOT EXISTS note text;\n');
  p.env.DATABASE_URL = pg.url();
  p.env.DB_PASSWORD = PASSWORD;
  const init = await cli('init');
  assert.equal(init.code, 0, out(init));
});

after(async () => {
  await p?.cleanup();
  await pg?.cleanup();
});

test('deploy backs up first, migrates after the health checks and before the switch, and records the dump', async () => {
  const r = await cli('deploy', '--auto-switch');
  assert.equal(r.code, 0, out(r));
  const order = ['Backing up database', 'Building and starting green', 'Running health checks on green', 'Running database migration', 'Running smoke tests on green', 'Switching traffic to green'];
  const at = order.map((s) => r.stdout.indexOf(s));
  assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)), `steps out of order: ${JSON.stringify(order.map((s, k) => [s, at[k]]))}\n${r.stdout}`);
  assert.match(r.stdout, /Backing up database.*db-backup-\d{8}-\d{6}-.*\.dump \([\d.]+ (B|KiB|MiB), verified/);
  assert.equal(await pg.psql("SELECT column_name FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'"), 'note\n');

  const last = (await history()).at(-1);
  assert.equal(last.type, 'deploy');
  assert.equal(last.result, 'success');
  assert.ok(last.backup, 'the history record names the backup');
  const st = await fs.stat(last.backup);
  assert.ok(st.size > 0);
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal((await fs.stat(path.dirname(last.backup))).mode & 0o777, 0o700);
  assert.equal((await state()).colours.green.backup, path.basename(last.backup));
  assert.ok(path.basename(last.backup).includes(last.id), 'the file name carries the deploy id');

  const list = await cli('backups');
  assert.equal(list.code, 0, out(list));
  assert.match(list.stdout, new RegExp(`custom .*deploy ${last.id}.*${path.basename(last.backup).replace(/\./g, '\\.')}.*verified`));
  assertNoSecret(out(r) + out(list) + ((await p.file('.switchyard/history.jsonl')) ?? ''), 'deploy output or history');
});

test('a failing migration stops the deploy before the switch and names the backup to restore', async () => {
  await migration('ALTER TABLE no_such_table ADD COLUMN x int;\n');
  const before = await p.file('.switchyard/state.json');
  const r = await cli('deploy', '--auto-switch');
  assert.equal(r.code, 1, out(r));
  assert.match(out(r), /migration `psql .*` failed in api \(blue\).*no_such_table/s);
  assert.match(out(r), /restore it with `switchyard restore db-backup-\d{8}-\d{6}-.*\.dump`/);
  assert.doesNotMatch(r.stdout, /Switching traffic/);
  assert.equal(await p.file('.switchyard/state.json'), before, 'state.json unchanged');
  assert.equal((await p.get('/api/health')).colour, 'green', 'green still serves');
  assert.equal(await p.file('.switchyard/run/blue.json'), undefined, 'the target was stopped');
  assert.equal((await history()).at(-1).result, 'failed');
  assertNoSecret(out(r), 'the failed deploy');
});

test('a backup that fails stops the deploy before anything else; health level 4 says the database is down', async () => {
  await migration('SELECT 1;\n');
  const before = { state: await p.file('.switchyard/state.json'), dumps: await dumps() };
  await pg.stop();
  try {
    const r = await cli('deploy', '--auto-switch');
    assert.equal(r.code, 1, out(r));
    assert.match(out(r), /nothing accepts connections at 127\.0\.0\.1:\d+: is the database running\?/);
    assert.doesNotMatch(r.stdout, /Building and starting/, 'no step after the backup ran');
    assert.deepEqual(await dumps(), before.dumps, 'no new or partial file');
    assert.equal(await p.file('.switchyard/state.json'), before.state);
    const h = await cli('health', 'green');
    assert.equal(h.code, 1, out(h));
    assert.match(out(h), /database.*direct connection: .*nothing accepts connections/);
    assertNoSecret(out(r) + out(h), 'the failure output');
  } finally {
    await pg.start();
  }
  const h = await cli('health', 'green');
  assert.equal(h.code, 0, out(h));
  assert.match(h.stdout, /direct SELECT 1/);
});

test('--skip-backup is recorded in history, and the migration warns that no backup covers it', async () => {
  const r = await cli('deploy', '--auto-switch', '--skip-backup');
  assert.equal(r.code, 0, out(r));
  assert.match(out(r), /migration hook will change the database without a backup from this deploy \(--skip-backup\); the newest backup is db-backup-/);
  const last = (await history()).at(-1);
  assert.ok(last.flags.includes('skipBackup'), JSON.stringify(last));
  assert.equal(last.backup, undefined);
});

test('restore: refused without a terminal or --yes; with --yes a safety backup first, then the data is back', async () => {
  const taken = await cli('backup');
  assert.equal(taken.code, 0, out(taken));
  const name = /(db-backup-\d{8}-\d{6}-manual-[\w-]+\.dump)/.exec(taken.stdout)?.[1];
  assert.ok(name, taken.stdout);
  await pg.psql('DELETE FROM items WHERE id > 10');
  assert.equal(await count(), 10);

  const refused = await cli('restore', 'latest');
  assert.equal(refused.code, 2, out(refused));
  assert.match(out(refused), /--yes/);
  assert.equal(await count(), 10, 'nothing changed');

  const r = await cli('restore', name!, '--yes');
  assert.equal(r.code, 0, out(r));
  assert.equal(await count(), 50);
  assert.match(r.stdout, /public\.items +50/);
  const safety = /the data before the restore: (db-backup-\S+pre-restore-\S+)/.exec(r.stdout)?.[1];
  assert.ok(safety && (await dumps()).includes(safety), r.stdout);
  assert.equal((await history()).at(-1).type, 'restore');

  // The safety backup undoes the restore.
  const undo = await cli('restore', safety!, '--yes');
  assert.equal(undo.code, 0, out(undo));
  assert.equal(await count(), 10);
  assertNoSecret(out(taken) + out(r) + out(undo), 'backup/restore output');
});

test('retention: after 7 deploys exactly backup.keep complete backups remain, the newest ones', async () => {
  await migration('SELECT 1;\n');
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const r = await cli('deploy', '--auto-switch');
    assert.equal(r.code, 0, out(r));
    ids.push((await history()).at(-1).id);
  }
  const files = await dumps();
  const complete = files.filter((f) => f.endsWith('.dump'));
  assert.equal(complete.length, 3, files.join('\n'));
  assert.deepEqual(files.filter((f) => f.startsWith('.')), [], 'no partial file');
  for (const id of ids.slice(-3)) assert.ok(complete.some((f) => f.includes(id)), `the backup of deploy ${id} is kept`);
  for (const f of files) assertNoSecret(f, 'a file name');
});
