/**
 * Fault matrix, row 8: the database restarts in the middle of a deploy (process runtime, a real
 * private PostgreSQL, `backup: { kind: postgres, url }`). Restarted while pg_dump streams the
 * backup: the deploy stops at the backup step with pg_dump's own words, removes the partial dump,
 * and nothing else runs. Restarted while the health checks wait: level 4 (a direct SELECT 1)
 * fails until the server is back, then the deploy goes on and switches; down for longer than
 * checks.timeout: the deploy fails before the switch naming the database. Blue serves a keep-alive
 * load throughout without one failed request.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { makeProject, type Project } from '../helpers/project.ts';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { createBigTable, partialBytes } from '../helpers/backup-procs.ts';
import { assertServedBy, history, loadOn, statusJson, waitFor, warmUp } from '../helpers/faults.ts';
import { budget } from '../helpers/budget.ts';

let p: Project;
let pg: TestPostgres;
const backups = () => path.join(p.dir, 'backups');
const complete = async () =>
  (await fs.readdir(backups()).catch(() => [] as string[])).filter((f) => /^db-backup-.*\.dump$/.test(f)).sort();

before(async () => {
  pg = await startTestPostgres();
  // ~40 MB of rows: pg_dump streams for a second or more, long enough to restart the server under it.
  await createBigTable(pg, 'big', 300_000);
  p = await makeProject('fixture');
  const yml = path.join(p.dir, 'switchyard.yml');
  await fs.writeFile(
    yml,
    (await fs.readFile(yml, 'utf8')) + 'backup: { kind: postgres, url: "${DATABASE_URL}", timeout: 60s }\n',
  );
  p.env.DATABASE_URL = pg.url('big');
  const r = await p.run(['init']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}, budget(15_000));
after(async () => {
  await p?.cleanup();
  await pg?.cleanup();
}, budget(5_000));

/** Starts `deploy --auto-switch` (extra args) under load; `during` acts on the running deploy. */
async function deployUnderLoad(extra: string[], during: (out: () => string) => Promise<void>) {
  const load = loadOn(p.port, { maxRequests: 60_000, maxMs: 90_000 });
  await warmUp(load);
  const child = p.spawn(['deploy', '--auto-switch', ...extra]);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const closed = new Promise<number | null>((r) => child.once('close', r));
  const kill = setTimeout(() => child.kill('SIGKILL'), 80_000);
  try {
    await during(() => out);
  } finally {
    await pg.start().catch(() => undefined); // whatever happened, the server is up again
  }
  const code = await closed;
  clearTimeout(kill);
  return { code, out, totals: await load.stop() };
}

test(
  "restarted while pg_dump streams the backup: the deploy stops at the backup with pg_dump's words; no partial dump",
  budget(5_400),
  async () => {
    const stateBefore = await p.file('.switchyard/state.json');
    await p.setBehaviour({ version: 'v2', mode: 'ok' });
    const { code, out, totals } = await deployUnderLoad([], async () => {
      await waitFor(
        'pg_dump to be writing the dump',
        async () => (await partialBytes(backups())) !== undefined,
        30_000,
        5,
      );
      await pg.stop(); // -m fast: the server terminates every session, pg_dump's included
    });
    assert.equal(code, 1, out);
    assert.match(out, /\[2\/8\] Backing up database\.\.\. ✗/);
    assert.match(out, /database backup failed/);
    // pg_dump's own last lines say what happened to its connection.
    assert.match(
      out,
      new RegExp(
        'terminating connection due to administrator command|server closed the connection unexpectedly|' +
          'connection to server .* failed|Connection refused',
        'i',
      ),
      out,
    );
    assert.doesNotMatch(out, /\[4\/8\]/, 'nothing was built or started');
    assert.deepEqual(await fs.readdir(backups()), [], 'no partial dump, no dump under a backup name, no sidecar');
    assertServedBy(totals, 'blue', 'a deploy whose database restarted during the backup');
    assert.equal(await p.file('.switchyard/state.json'), stateBefore);
    assert.equal((await history(p)).at(-1)?.result, 'failed');
  },
);

test(
  'restarted while the health checks wait: level 4 fails until the server is back, then the deploy switches',
  budget(6_600),
  async () => {
    // green starts slowly: the health step lasts ~2 s, and the server is down for ~1 s of it.
    await p.setBehaviour({ version: 'v2', mode: 'ok', startDelayMs: 2000 });
    let sawDown = false;
    const { code, out, totals } = await deployUnderLoad(['--json'], async (text) => {
      await waitFor(
        'the health step',
        () => /"title":"Running health checks on green","status":"start"/.test(text()),
        60_000,
        10,
      );
      await pg.stop();
      await waitFor(
        'a health round to see the database down',
        () => /level 4 database not yet/.test(text()),
        10_000,
        10,
      ).then(
        () => (sawDown = true),
        () => undefined,
      );
      await pg.start();
    });
    assert.equal(code, 0, out);
    assert.ok(sawDown, `no health round saw the database down:\n${out}`);
    assert.match(out, /"title":"Running health checks on green","status":"ok"/);
    assert.equal(totals.failed, 0, JSON.stringify(totals.errors));
    assert.equal((await p.get('/api/echo')).colour, 'green');
    const last = (await history(p)).at(-1)!;
    assert.equal(last.result, 'success');
    assert.ok(
      last.backup && (await complete()).includes(path.basename(last.backup)),
      `the deploy's complete backup is on disk: ${last.backup}`,
    );
    assert.deepEqual(
      (await fs.readdir(backups())).filter((f) => f.endsWith('.partial')),
      [],
    );
  },
);

test(
  'down for longer than checks.timeout during the health checks: ' +
    'the deploy fails before the switch naming the database',
  budget(9_700),
  async () => {
    const stateBefore = await p.file('.switchyard/state.json');
    await p.setBehaviour({ version: 'v3', mode: 'ok', startDelayMs: 500 });
    const { code, out, totals } = await deployUnderLoad([], async (text) => {
      await waitFor('the health step', () => /\[5\/8\] Running health checks on blue/.test(text()), 60_000, 10);
      await pg.stop();
      await waitFor('the deploy to give up', () => /blue stopped; green is still serving/.test(text()), 20_000, 20);
    });
    assert.equal(code, 1, out);
    assert.match(out, /blue did not become healthy within 5\.0s \(checks\.timeout\)/);
    assert.match(
      out,
      new RegExp(
        `level 4 database: FAILED - .*direct connection: .*nothing accepts connections at 127\\.0\\.0\\.1:${pg.port}`,
      ),
    );
    assert.doesNotMatch(out, /\[7\/8\]/, 'no switch was attempted');
    assertServedBy(totals, 'green', 'a deploy whose database went away during the health checks');
    assert.equal(await p.file('.switchyard/state.json'), stateBefore);
    assert.deepEqual(
      (await fs.readdir(backups())).filter((f) => f.endsWith('.partial')),
      [],
    );
    assert.equal((await statusJson(p)).code, 0);
  },
);
