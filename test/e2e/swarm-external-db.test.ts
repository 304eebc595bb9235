/**
 * A database outside the swarm, given by `backup.url`, on the real three-node test swarm (docs/swarm.md,
 * "The database"): a private PostgreSQL on this machine's loopback, the URL's password given by
 * `${VAR}` substitution. Backups work as on one machine: a deploy dumps first with this machine's
 * pg_dump (a verified dump in backups/), then switches every edge node to green; `restore latest`
 * brings a changed row back and touches nothing on the swarm; a URL at a closed port stops the
 * deploy at the backup, naming what is wrong, before the target colour exists on the swarm, and the
 * live colour keeps serving on every node. The password appears in no output, history or state.
 * Fails, never skips, when the swarm is not up.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { budget } from '../helpers/budget.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { freePort } from '../helpers/project.ts';
import {
  cleanupSwarmApp,
  edgeOrigins,
  makeSwarmApp,
  managerClient,
  runCli,
  swarmConfig,
  type CliRun,
} from '../helpers/swarm.ts';

const APP = `syxd${randomBytes(3).toString('hex')}`;
const PORT = 20_000 + Math.floor(Math.random() * 10_000);
/** Characters a URL must escape, so both the raw and the encoded form are looked for. */
const PASSWORD = `ext/db:pw@${randomBytes(4).toString('hex')}`;
/** The variable switchyard.yml reads the URL's password from (the CLI inherits this process's environment). */
const PW_VAR = `SYXD_PG_PASSWORD_${APP.toUpperCase()}`;
let dir: string;
let pg: TestPostgres;
const cli = (args: string[], timeoutMs?: number) => runCli(dir, args, timeoutMs);
/** Everything the CLI printed, to look for the password in. */
const printed: string[] = [];

/** switchyard.yml with the external database at `dbPort` on loopback. */
const config = (dbPort: number) =>
  swarmConfig({
    app: APP,
    port: PORT,
    extra: `backup: { kind: postgres, url: "postgres://${pg.user}:\${${PW_VAR}}@127.0.0.1:${dbPort}/app" }`,
  });

async function run(args: string[]): Promise<CliRun> {
  const r = await cli(args);
  printed.push(r.out);
  return r;
}

/** After a command returned: every edge node answers from `colour` only. */
async function allFrom(colour: string): Promise<void> {
  for (const origin of edgeOrigins(PORT))
    for (let i = 0; i < 5; i++) {
      const res = await fetch(origin);
      assert.equal(res.status, 200, `${origin} request ${i + 1}`);
      assert.equal(res.headers.get('x-switchyard-env'), colour, `${origin} request ${i + 1}`);
      await res.body?.cancel();
    }
}

/** The app's services on the swarm: name -> id and spec version (any update bumps the version). */
async function services(): Promise<Record<string, string>> {
  const m = await managerClient();
  const list = (await m.listServices({ filters: { label: [`switchyard.app=${APP}`] } })) as {
    ID: string;
    Version?: { Index?: number };
    Spec?: { Name?: string };
  }[];
  return Object.fromEntries(
    list
      .map((s) => [s.Spec?.Name ?? '?', `${s.ID} v${s.Version?.Index ?? '?'}`])
      .sort(([a], [b]) => a!.localeCompare(b!)),
  );
}

const item = async (id: number) => (await pg.psql(`SELECT name FROM items WHERE id = ${id}`)).trim();

function assertNoSecret(text: string, where: string): void {
  assert.ok(
    !text.includes(PASSWORD) && !text.includes(encodeURIComponent(PASSWORD)),
    `the database password appears in ${where}`,
  );
}

before(async () => {
  await managerClient();
  pg = await startTestPostgres({ password: PASSWORD });
  await pg.psql(
    'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); ' +
      "INSERT INTO items VALUES (1, 'one'), (2, 'two'), (3, 'three')",
  );
  process.env[PW_VAR] = encodeURIComponent(PASSWORD);
  dir = await makeSwarmApp('sy-swarm-extdb-');
  await fs.writeFile(path.join(dir, 'switchyard.yml'), config(pg.port));
}, budget(2_000));

after(async () => {
  if (dir) await cli(['down'], 120_000).catch(() => undefined);
  await cleanupSwarmApp(APP);
  await pg?.cleanup();
  delete process.env[PW_VAR];
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}, budget(11_000));

describe('swarm: an external database by URL, backed up before each deploy as on one machine', () => {
  it('init starts blue behind the edge on every node', budget(18_000), async () => {
    const r = await run(['init']);
    assert.equal(r.code, 0, r.out);
    await allFrom('blue');
  });

  it(
    'a URL at a closed port stops the deploy at the backup: green never starts, blue serves',
    budget(4_700),
    async () => {
      const closed = await freePort();
      await fs.writeFile(path.join(dir, 'switchyard.yml'), config(closed));
      const before = await services();
      assert.ok(before[`${APP}_api_blue`], JSON.stringify(before));
      try {
        const r = await run(['deploy', '--auto-switch']);
        assert.notEqual(r.code, 0, r.out);
        assert.match(r.out, /Backing up database.*✗.*database backup failed: nothing accepts connections/, r.out);
        assert.match(r.out, /blue is still serving; state\.json is unchanged/, r.out);
        assert.match(r.out, new RegExp(`nothing accepts connections at 127\\.0\\.0\\.1:${closed}`), r.out);
        assert.doesNotMatch(r.out, /Building and starting green/, r.out);
        const afterwards = await services();
        assert.equal(afterwards[`${APP}_api_green`], undefined, `green was not created: ${JSON.stringify(afterwards)}`);
        assert.deepEqual(afterwards, before, 'nothing on the swarm changed');
        await allFrom('blue');
        const backups = await fs.readdir(path.join(dir, 'backups')).catch(() => [] as string[]);
        assert.deepEqual(backups, [], 'no dump, no partial file');
      } finally {
        await fs.writeFile(path.join(dir, 'switchyard.yml'), config(pg.port));
      }
    },
  );

  it('a deploy backs the database up first (verified), then every node serves green', budget(13_700), async () => {
    const r = await run(['deploy', '--auto-switch']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /Backing up database.*✓/, r.out);
    assert.match(r.out, /Backing up database.*db-backup-\d{8}-\d{6}-.*\.dump \([\d.]+ (B|KiB|MiB), verified/, r.out);
    assert.ok(r.out.indexOf('Backing up database') < r.out.indexOf('Building and starting green'), r.out);
    const dumps = (await fs.readdir(path.join(dir, 'backups'))).filter((f) => f.endsWith('.dump'));
    assert.equal(dumps.length, 1, dumps.join(', '));
    const list = await run(['backups']);
    assert.equal(list.code, 0, list.out);
    assert.match(list.out, new RegExp(`${dumps[0]!.replace(/\./g, '\\.')}.*verified`), list.out);
    await allFrom('green');
  });

  it('restore latest brings the changed row back and changes nothing on the swarm', budget(1_300), async () => {
    await pg.psql("UPDATE items SET name = 'changed' WHERE id = 2");
    assert.equal(await item(2), 'changed');
    const before = await services();
    const r = await run(['restore', 'latest', '--yes']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /public\.items +3/, r.out);
    assert.match(r.out, /the data before the restore: db-backup-\S+pre-restore-\S+/, r.out);
    assert.deepEqual(
      await pg.psql('SELECT id, name FROM items ORDER BY id'),
      '1|one\n2|two\n3|three\n',
      'the rows as they were at the backup',
    );
    assert.deepEqual(await services(), before, 'the same services, not updated');
    await allFrom('green');
  });

  it('the password appears in no output, history or state', budget(1_500), async () => {
    const st = await run(['status']);
    assert.equal(st.code, 0, st.out);
    const files = await Promise.all(
      ['.switchyard/history.jsonl', '.switchyard/state.json'].map((f) => fs.readFile(path.join(dir, f), 'utf8')),
    );
    const sidecars = (await fs.readdir(path.join(dir, 'backups'))).filter((f) => f.endsWith('.json'));
    for (const s of sidecars) files.push(await fs.readFile(path.join(dir, 'backups', s), 'utf8'));
    assert.ok(sidecars.length >= 2, `the deploy's and the restore's sidecars: ${sidecars.join(', ')}`);
    assertNoSecret(printed.join('\n'), 'the CLI output');
    assertNoSecret(files.join('\n'), 'history, state or a backup sidecar');
  });
});
