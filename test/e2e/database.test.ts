/**
 * Database safety through the built CLI, on the process runtime with a real private PostgreSQL:
 * deploy backs up before anything changes and records the dump, the migrate hook runs after the
 * health checks and before the switch, a failed migration or backup changes nothing, restore
 * takes a safety backup and brings the data back, retention keeps exactly `keep` but never the
 * dump the live release was deployed over, a migration that times out stops the deploy naming
 * its backup, the restore prompt on a real terminal ("n" changes nothing, "y" restores), health
 * level 4 names a rejected password and a database that never answers, and the password appears
 * in no output, file name or history line.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { makeProject, type Project, type RunResult } from '../helpers/project.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { runOnTty } from '../helpers/tty.ts';
import { budget } from '../helpers/budget.ts';

let p: Project;
let pg: TestPostgres;
const PASSWORD = 'pg-e2e-s3cret/with:odd@chars';

const out = (r: RunResult) => r.stdout + r.stderr;
const cli = (...args: string[]) => p.run(args, { timeoutMs: 120_000 });
const state = async () => JSON.parse((await p.file('.switchyard/state.json'))!);
const history = async () =>
  ((await p.file('.switchyard/history.jsonl')) ?? '')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
const dumps = async () => (await fs.readdir(path.join(p.dir, 'backups')).catch(() => [] as string[])).sort();
const count = async () => Number(await pg.psql('SELECT count(*) FROM items'));
const migration = (sql: string) => fs.writeFile(path.join(p.dir, 'migrations', '001.sql'), sql);
/** pg_dump's plain text of the test database, without the random \restrict key newer pg_dumps write. */
const dumpText = async () => (await pg.dumpText()).replace(/^\\(un)?restrict .*$/gm, '');
/** Every process whose argv is exactly `argv` (any parent), from /proc. */
function processesWithArgv(argv: string[]): number[] {
  const want = argv.join('\0');
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join('\0') === want)
        found.push(Number(name));
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

function assertNoSecret(text: string, where: string) {
  assert.ok(
    !text.includes(PASSWORD) && !text.includes(encodeURIComponent(PASSWORD)),
    `the database password appears in ${where}`,
  );
}

before(async () => {
  pg = await startTestPostgres({ password: PASSWORD });
  await pg.psql(
    'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); ' +
      'INSERT INTO items SELECT g, $$item $$ || g FROM generate_series(1, 50) g',
  );
  p = await makeProject('fixture');
  const cfg = parse(await fs.readFile(path.join(p.dir, 'switchyard.yml'), 'utf8'));
  cfg.backup = { kind: 'postgres', url: '${DATABASE_URL}', keep: 3 };
  // The migration runs inside the api's release folder with the api's environment (PG* below).
  cfg.services.api.env = {
    PGHOST: '127.0.0.1',
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGDATABASE: 'app',
    PGPASSWORD: '${DB_PASSWORD}',
  };
  cfg.deploy.hooks = {
    migrate: { run: 'psql -X -v ON_ERROR_STOP=1 -f migrations/001.sql', service: 'api', timeout: '30s' },
  };
  await fs.writeFile(path.join(p.dir, 'switchyard.yml'), stringify(cfg));
  await fs.mkdir(path.join(p.dir, 'migrations'));
  await migration('ALTER TABLE items ADD COLUMN IF NOT EXISTS note text;\n');
  p.env.DATABASE_URL = pg.url();
  p.env.DB_PASSWORD = PASSWORD;
  const init = await cli('init');
  assert.equal(init.code, 0, out(init));
}, budget(8_000));

after(async () => {
  await p?.cleanup();
  await pg?.cleanup();
}, budget(5_000));

test(
  'deploy backs up first, migrates after the health checks and before the switch, and records the dump',
  budget(5_100),
  async () => {
    const r = await cli('deploy', '--auto-switch');
    assert.equal(r.code, 0, out(r));
    const order = [
      'Backing up database',
      'Building and starting green',
      'Running health checks on green',
      'Running database migration',
      'Running smoke tests on green',
      'Switching traffic to green',
    ];
    const at = order.map((s) => r.stdout.indexOf(s));
    assert.ok(
      at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1]!)),
      `steps out of order: ${JSON.stringify(order.map((s, k) => [s, at[k]]))}\n${r.stdout}`,
    );
    assert.match(r.stdout, /Backing up database.*db-backup-\d{8}-\d{6}-.*\.dump \([\d.]+ (B|KiB|MiB), verified/);
    assert.equal(
      await pg.psql(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'note'",
      ),
      'note\n',
    );

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
    assert.match(
      list.stdout,
      new RegExp(`custom .*deploy ${last.id}.*${path.basename(last.backup).replace(/\./g, '\\.')}.*verified`),
    );
    assertNoSecret(
      out(r) + out(list) + ((await p.file('.switchyard/history.jsonl')) ?? ''),
      'deploy output or history',
    );
  },
);

test(
  'a failing migration stops the deploy before the switch and names the backup to restore',
  budget(1_200),
  async () => {
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
  },
);

test(
  'a backup that fails stops the deploy before anything else; health level 4 says the database is down',
  budget(1_500),
  async () => {
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
  },
);

test(
  '--skip-backup is recorded in history, and the migration warns that no backup covers it',
  budget(1_100),
  async () => {
    const r = await cli('deploy', '--auto-switch', '--skip-backup');
    assert.equal(r.code, 0, out(r));
    assert.match(
      out(r),
      new RegExp(
        'migration hook will change the database without a backup from this deploy \\(--skip-backup\\); ' +
          'the newest backup is db-backup-',
      ),
    );
    const last = (await history()).at(-1);
    assert.ok(last.flags.includes('skipBackup'), JSON.stringify(last));
    assert.equal(last.backup, undefined);
  },
);

test(
  'restore: refused without a terminal or --yes; with --yes a safety backup first, then the data is back',
  budget(2_800),
  async () => {
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
  },
);

test(
  'retention: after 7 deploys exactly backup.keep complete backups remain, the newest ones',
  budget(7_800),
  async () => {
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
    assert.deepEqual(
      files.filter((f) => f.startsWith('.')),
      [],
      'no partial file',
    );
    for (const id of ids.slice(-3))
      assert.ok(
        complete.some((f) => f.includes(id)),
        `the backup of deploy ${id} is kept`,
      );
    for (const f of files) assertNoSecret(f, 'a file name');
  },
);

test(
  'retention never deletes the backup the live release was deployed over, and `backups` marks it kept',
  budget(2_900),
  async () => {
    await migration('SELECT 1;\n');
    const d = await cli('deploy', '--auto-switch');
    assert.equal(d.code, 0, out(d));
    const st = await state();
    const live: string = st.colours[st.active].backup;
    assert.ok(
      live ? live.includes((await history()).at(-1).id) : live,
      `state.json records the live deploy's backup: ${JSON.stringify(st.colours)}`,
    );
    assert.ok((await dumps()).includes(live));

    // keep (3) + 1 manual backups: without the protection the deploy's dump would be the 5th newest and go.
    const manual: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await cli('backup');
      assert.equal(r.code, 0, out(r));
      manual.push(/(db-backup-\d{8}-\d{6}-manual-[\w-]+\.dump)/.exec(r.stdout)![1]!);
    }
    const files = await dumps();
    assert.ok(
      files.includes(live) && files.includes(`${live}.json`),
      `the live deploy's backup survived retention:\n${files.join('\n')}`,
    );
    assert.ok(!files.includes(manual[0]!), 'retention did run: the oldest manual backup is gone');
    for (const m of manual.slice(1)) assert.ok(files.includes(m), `the newest manual backups stay: ${m}`);
    const list = await cli('backups');
    assert.equal(list.code, 0, out(list));
    const line = list.stdout.split('\n').find((l) => l.includes(live));
    assert.ok(line, `backups lists ${live}:\n${list.stdout}`);
    assert.match(line!, /\(verified, kept for a deployed release\)/);
    for (const m of manual.slice(1))
      assert.doesNotMatch(list.stdout.split('\n').find((l) => l.includes(m)) ?? '', /kept for a deployed release/);
  },
);

test(
  "a migration that times out stops the deploy before the switch and names this deploy's backup",
  budget(1_900),
  async () => {
    const yml = path.join(p.dir, 'switchyard.yml');
    const original = await fs.readFile(yml, 'utf8');
    const cfg = parse(original);
    // A distinctive sleep, so the test can tell it was killed.
    cfg.deploy.hooks = { migrate: { run: ['sleep', '41.7'], service: 'api', timeout: '1s' } };
    await fs.writeFile(yml, stringify(cfg));
    try {
      const before = { state: await p.file('.switchyard/state.json'), current: await p.file('.current-env') };
      const live = (await state()).active;
      const t0 = Date.now();
      const r = await cli('deploy', '--auto-switch');
      assert.equal(r.code, 1, out(r));
      assert.ok(Date.now() - t0 < 40_000, 'the timeout, not the sleep, ended the migration');
      assert.match(out(r), /migration `sleep 41\.7` failed in api \((blue|green)\): timed out after 1000 ms/);
      const last = (await history()).at(-1);
      assert.equal(last.type, 'deploy');
      assert.equal(last.result, 'failed');
      assert.ok(last.backup, 'the deploy took its backup first');
      const name = path.basename(last.backup);
      assert.ok(name.includes(last.id), "the backup is this deploy's");
      assert.ok(
        out(r).includes(`switchyard restore ${name}`),
        `the message names this deploy's backup ${name}:\n${out(r)}`,
      );
      assert.ok((await dumps()).includes(name), 'and it is on disk');
      assert.doesNotMatch(r.stdout, /Switching traffic/);
      assert.equal(await p.file('.switchyard/state.json'), before.state, 'state.json unchanged');
      assert.equal(await p.file('.current-env'), before.current, '.current-env unchanged');
      assert.equal((await p.get('/api/health')).colour, live, 'the live colour still serves');
      assert.deepEqual(processesWithArgv(['sleep', '41.7']), [], 'the timed-out migration was killed');
    } finally {
      await fs.writeFile(yml, original);
    }
  },
);

test(
  'restore on a real terminal asks: "n" restores nothing (exit 1), "y" restores the backup',
  budget(1_800),
  async () => {
    const taken = await cli('backup');
    assert.equal(taken.code, 0, out(taken));
    const name = /(db-backup-\d{8}-\d{6}-manual-[\w-]+\.dump)/.exec(taken.stdout)?.[1];
    assert.ok(name, taken.stdout);
    const backedUp = await dumpText();
    await pg.psql("DELETE FROM items WHERE id > 20; UPDATE items SET name = 'changed on a terminal' WHERE id = 1");
    const changed = await dumpText();
    assert.notEqual(changed, backedUp);
    // The question (it may wrap on the 120-column terminal), up to its "(y/N)": ready for the answer.
    const prompt = /Replace the data of [\s\S]*\(y\/N\)/;

    const filesBefore = await dumps();
    const no = await runOnTty(p.dir, p.env, ['restore', name!], [{ when: prompt, keys: 'n\r' }], 60_000);
    assert.equal(no.code, 1, no.out);
    assert.match(no.out, prompt, 'it asked');
    assert.ok(no.out.includes(name!), `the question names the backup:\n${no.out}`);
    assert.match(no.out, /not restored: you answered no/);
    assert.equal(await dumpText(), changed, 'the data is unchanged');
    assert.deepEqual(await dumps(), filesBefore, 'not even a safety backup was taken');
    assert.equal((await history()).at(-1).type, 'restore');
    assert.notEqual((await history()).at(-1).result, 'success');

    const yes = await runOnTty(p.dir, p.env, ['restore', name!], [{ when: prompt, keys: 'y\r' }], 60_000);
    assert.equal(yes.code, 0, yes.out);
    assert.match(yes.out, /public\.items +\d+/);
    assert.equal(await dumpText(), backedUp, 'the data equals the backup, byte for byte in pg_dump output');
    assert.equal((await history()).at(-1).result, 'success');
    assertNoSecret(no.out + yes.out, 'the terminal output');
  },
);

test(
  'health level 4 through the CLI names a rejected password and a database that never answers',
  budget(1_700),
  async () => {
    const live = (await state()).active;
    const ok = await cli('health', live);
    assert.equal(ok.code, 0, out(ok));

    const wrong = pg.url().replace(encodeURIComponent(PASSWORD), 'wrong-Health-pw');
    assert.notEqual(wrong, pg.url());
    const auth = await p.run(['health', live], { env: { DATABASE_URL: wrong }, timeoutMs: 60_000 });
    assert.equal(auth.code, 1, out(auth));
    assert.match(
      out(auth),
      new RegExp(
        'level 4 database: .*direct connection: database unreachable: ' +
          'the database rejected the password for user sy_test',
      ),
    );
    assert.match(auth.stdout, new RegExp(`${live} is NOT healthy`));
    assert.ok(!out(auth).includes('wrong-Health-pw'), 'the wrong password is not printed either');

    // A listener that accepts connections and never says a word: a database that hangs.
    const sockets = new Set<net.Socket>();
    let accepted = 0;
    const silent = net.createServer((sock) => {
      accepted++;
      sockets.add(sock);
      sock.on('error', () => undefined);
      sock.on('close', () => sockets.delete(sock));
    });
    await new Promise<void>((res) => silent.listen(0, '127.0.0.1', res));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const t0 = Date.now();
      const hang = await p.run(['health', live], {
        env: { DATABASE_URL: `postgres://${pg.user}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/app` },
        timeoutMs: 60_000,
      });
      const ms = Date.now() - t0;
      assert.equal(hang.code, 1, out(hang));
      assert.match(out(hang), /level 4 database: .*direct connection: database unreachable: .*timed out/);
      assert.ok(accepted > 0, 'the check did connect to the silent listener');
      assert.ok(ms < 20_000, `health returned after ${ms} ms: bounded by checks.requestTimeout`);
      assertNoSecret(out(auth) + out(hang), 'health output');
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((res) => silent.close(res));
    }
  },
);
