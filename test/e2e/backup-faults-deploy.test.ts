/**
 * Backup faults through the whole `switchyard deploy --auto-switch` (process runtime, built-in
 * proxy, a real private PostgreSQL, `backup: { kind: postgres, url: "${DATABASE_URL}" }`), not
 * just the backupper: a wrong password in the URL, a PATH with node but without pg_dump, a backup
 * folder that cannot be written (its parent is a regular file; a read-only filesystem mounted on
 * it, since root ignores permission bits), and pg_dump killed with SIGKILL while it streams a big
 * table. Each row: exit 1, a message naming the cause, the backup step marked failed and no later
 * step started, no file (not even a hidden partial) in the backup folder, state.json and
 * .current-env unchanged, blue (live) still serving, and history's last record a failed deploy.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { CLI, makeProject, type Project } from '../helpers/project.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { childProcesses, createBigTable, isProgram, partialBytes, poll } from '../helpers/backup-procs.ts';
import { history, unmount } from '../helpers/faults.ts';
import { budget } from '../helpers/budget.ts';

const PASSWORD = 'deploy-faults-S3cret';
const WRONG = 'not-the-Password-42';
let p: Project;
let pg: TestPostgres;
let yml: string;
let baseConfig: { [key: string]: unknown; backup: Record<string, string> };
const temps: string[] = [];
const mounts: string[] = [];

before(async () => {
  pg = await startTestPostgres({ password: PASSWORD });
  await pg.psql(
    'CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL); ' +
      'INSERT INTO items SELECT g, $$item $$ || g FROM generate_series(1, 50) g',
  );
  // ~40 MB of rows: pg_dump streams for a second or more, long enough to kill it halfway.
  await createBigTable(pg, 'big', 300_000);
  p = await makeProject('fixture');
  yml = path.join(p.dir, 'switchyard.yml');
  baseConfig = parse(await fs.readFile(yml, 'utf8'));
  baseConfig.backup = { kind: 'postgres', url: '${DATABASE_URL}', timeout: '60s' };
  await fs.writeFile(yml, stringify(baseConfig));
  p.env.DATABASE_URL = pg.url();
  const init = await p.run(['init'], { timeoutMs: 60_000 });
  assert.equal(init.code, 0, init.stdout + init.stderr);
  assert.equal((await p.get('/api/health')).colour, 'blue');
}, budget(15_000));

after(async () => {
  for (const m of mounts) {
    try {
      unmount(m);
    } catch {
      /* already unmounted by its row */
    }
  }
  // Back to a config `down` can load, with the right URL, so cleanup stops everything.
  if (yml) await fs.writeFile(yml, stringify(baseConfig)).catch(() => undefined);
  if (p && pg) p.env.DATABASE_URL = pg.url();
  await p?.cleanup();
  await pg?.cleanup();
  for (const d of temps) await fs.rm(d, { recursive: true, force: true });
}, budget(5_000));

/** Everything in a folder, hidden files included; [] when it does not exist. */
const entries = async (dir: string) => (await fs.readdir(dir).catch(() => [] as string[])).sort();

interface Row {
  name: string;
  /** What the output must say about the cause. */
  cause: RegExp;
  /** The backup folder to check for leftovers (relative to the project). */
  dir: string;
  /** Prepares the row; returns env for the deploy and an undo. */
  setup(): Promise<{ env?: NodeJS.ProcessEnv; undo?: () => Promise<void> }>;
  /** Acts on the running deploy (its CLI process); the deploy runs with p.spawn then. */
  during?(cliPid: number): Promise<void>;
}

/** Sets backup.dir (the rest of the config as in before()). */
const withBackupDir = (dir: string) =>
  fs.writeFile(yml, stringify({ ...baseConfig, backup: { ...baseConfig.backup, dir } }));

const rows: Row[] = [
  {
    name: 'wrong password in DATABASE_URL',
    cause: /database backup failed: the database rejected the password for user sy_test/,
    dir: 'backups',
    async setup() {
      const url = pg.url().replace(encodeURIComponent(PASSWORD), WRONG);
      assert.notEqual(url, pg.url(), 'the URL really carries another password');
      return { env: { DATABASE_URL: url } };
    },
  },
  {
    name: 'PATH with node but without pg_dump',
    cause: /database backup failed: pg_dump is not installed on this machine \(not found on PATH\)/,
    dir: 'backups',
    async setup() {
      const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-path-node-only-'));
      temps.push(bin);
      await fs.symlink(process.execPath, path.join(bin, 'node'));
      // Positive control: pg_dump is on the normal PATH, and not on this one.
      assert.ok(
        (process.env.PATH ?? '').split(':').some((d) => existsSync(path.join(d, 'pg_dump'))),
        'pg_dump is on the normal PATH',
      );
      assert.equal(existsSync(path.join(bin, 'pg_dump')), false);
      assert.equal(
        execFileSync(path.join(bin, 'node'), ['-p', '1'], { encoding: 'utf8' }).trim(),
        '1',
        'node runs from the new PATH',
      );
      return { env: { PATH: bin } };
    },
  },
  {
    name: 'backup.dir cannot be created: its parent is a regular file',
    cause: /cannot use the backup folder \S*not-a-folder\/backups: .*(ENOTDIR|EEXIST|not a directory)/,
    dir: 'not-a-folder/backups',
    async setup() {
      const blocker = path.join(p.dir, 'not-a-folder');
      await fs.writeFile(blocker, 'a regular file\n');
      await withBackupDir('not-a-folder/backups');
      return {
        undo: async () => {
          assert.equal(await fs.readFile(blocker, 'utf8'), 'a regular file\n', 'the file in the way is untouched');
          await fs.rm(blocker);
          await fs.writeFile(yml, stringify(baseConfig));
        },
      };
    },
  },
  {
    name: 'backup.dir on a read-only filesystem (a read-only tmpfs mounted on it: root cannot write there either)',
    cause: /cannot write in the backup folder \S*ro-backups: EROFS: read-only file system/,
    dir: 'ro-backups',
    async setup() {
      const dir = path.join(p.dir, 'ro-backups');
      await fs.mkdir(dir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k,mode=0700', 'tmpfs', dir], {
        stdio: 'pipe',
        timeout: 10_000,
      });
      mounts.push(dir);
      // Positive control: even root gets EROFS writing there.
      await assert.rejects(fs.writeFile(path.join(dir, 'probe'), 'x'), /EROFS/);
      await withBackupDir('ro-backups');
      return {
        undo: async () => {
          unmount(dir);
          mounts.splice(mounts.indexOf(dir), 1);
          await fs.rmdir(dir);
          await fs.writeFile(yml, stringify(baseConfig));
        },
      };
    },
  },
  {
    name: 'pg_dump killed (SIGKILL) halfway through a 300k-row table',
    cause: /database backup failed: pg_dump was killed by SIGKILL/,
    dir: 'backups',
    async setup() {
      return { env: { DATABASE_URL: pg.url('big') } };
    },
    async during(cliPid) {
      const dir = path.join(p.dir, 'backups');
      const dump = await poll(
        'pg_dump, a child of the deploy, writing the dump',
        async () => {
          const c = childProcesses(cliPid).find((x) => isProgram(x, 'pg_dump'));
          return c && (await partialBytes(dir)) ? c : undefined;
        },
        30_000,
        10,
      );
      process.kill(dump.pid, 'SIGKILL');
    },
  },
];

/** Runs `deploy --auto-switch` with extra env; with `during`, spawned so the test can act on it. */
async function deploy(
  env: NodeJS.ProcessEnv,
  during?: (pid: number) => Promise<void>,
): Promise<{ code: number | null; out: string }> {
  if (!during) {
    const r = await p.run(['deploy', '--auto-switch'], { env, timeoutMs: 90_000 });
    return { code: r.code, out: r.stdout + r.stderr };
  }
  const child = spawn(process.execPath, [CLI, 'deploy', '--auto-switch'], {
    cwd: p.dir,
    env: { ...p.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const closed = new Promise<number | null>((r) => child.once('close', r));
  const kill = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    await during(child.pid!);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  } finally {
    // Bounded either way: the deploy ends on its own once the fault hit it.
    await closed;
    clearTimeout(kill);
  }
  return { code: await closed, out };
}

for (const row of rows) {
  test(`deploy with a backup fault: ${row.name}`, budget(5_200), async () => {
    const { env = {}, undo } = await row.setup();
    try {
      const before = {
        state: await p.file('.switchyard/state.json'),
        current: await p.file('.current-env'),
        history: (await history(p)).length,
        dir: await entries(path.join(p.dir, row.dir)),
      };
      assert.ok(before.state && before.current, 'state.json and .current-env exist before the deploy');
      assert.deepEqual(before.dir, [], 'the backup folder starts empty');

      const { code, out } = await deploy(env, row.during);
      assert.equal(code, 1, out);
      assert.match(out, row.cause);
      assert.match(out, /\[2\/8\] Backing up database\.\.\. ✗/, 'the backup step is marked failed');
      assert.doesNotMatch(out, /\[3\/8\]/, 'no step after the backup started');
      assert.doesNotMatch(out, /Building/, 'nothing was built or started');
      assert.ok(!out.includes(PASSWORD) && !out.includes(WRONG), 'no password in the output');

      assert.deepEqual(
        await entries(path.join(p.dir, row.dir)),
        [],
        'no dump, no sidecar, no hidden partial in the backup folder',
      );
      assert.equal(await p.file('.switchyard/state.json'), before.state, 'state.json unchanged');
      assert.equal(await p.file('.current-env'), before.current, '.current-env unchanged');
      const live = await p.get('/api/health');
      assert.equal(live.status, 200);
      assert.equal(live.colour, 'blue', 'the live colour still serves');
      const h = await history(p);
      assert.equal(h.length, before.history + 1, 'one new history record');
      const last = h.at(-1)!;
      assert.equal(last.type, 'deploy');
      assert.equal(last.result, 'failed');
      assert.equal(last.backup, undefined, 'no backup recorded');
      const rec = JSON.stringify(last);
      assert.ok(!rec.includes(PASSWORD) && !rec.includes(WRONG), 'no password in history');
    } finally {
      await undo?.();
    }
  });
}
