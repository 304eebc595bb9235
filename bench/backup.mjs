#!/usr/bin/env node
// Database backup and restore figures with switchyard's own backup code (dist/backup) and this
// machine's pg_dump / pg_restore / psql, against a private PostgreSQL on 127.0.0.1 (fsync on):
//  - a `customers` table of --rows rows (id, email, name, created_at, a ~100-byte note), plus its
//    primary key and an index on email;
//  - for each format (custom, plain): backup wall time (pg_dump + verification + fsync + rename)
//    and file size; restore time (pg_restore / psql into the same database, replacing it, plus
//    the exact row counts after) and its throughput in rows/s, dump-file MB/s and table MB/s
//    (the table with its indexes as the server stores it: comparable across formats);
//  - the database's own size for scale. Each figure is the median of --rounds runs.
// Usage: npm run build && node bench/backup.mjs [--rows 100000] [--rounds 3] [--merge]. Writes
// bench/out/backup.json; --merge also puts it into bench/results.json (as `backup`), for a re-run of
// this benchmark alone.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fillCustomers, startPostgres } from './lib/postgres.mjs';
import { mergeIntoResults } from './lib/results.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);
const { openBackupper } = await dist('backup/index.js');
const { backupSchema } = await dist('config/backup-schema.js');
const arg = (n, d) => (process.argv.includes(`--${n}`) ? process.argv[process.argv.indexOf(`--${n}`) + 1] : d);
const ROWS = Number(arg('rows', '100000'));
const ROUNDS = Number(arg('rounds', '3'));
const MB = 1024 * 1024;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r1 = (x) => Math.round(x * 10) / 10;

async function measure(pg, projectDir, format, dataMB) {
  const cfg = backupSchema.parse({
    kind: 'postgres',
    url: pg.url(),
    format,
    dir: `backups-${format}`,
    keep: ROUNDS + 1,
    timeout: '10m',
  });
  const b = openBackupper(cfg, { projectDir, app: 'bench', redact: (s) => s });
  const runs = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const meta = await b.backup({ reason: 'manual' });
    const backupMs = performance.now() - t0;
    const t1 = performance.now();
    const restored = await b.restore(meta.file);
    const restoreMs = performance.now() - t1;
    const rows = restored.tables.find((t) => t.name === 'public.customers')?.rows;
    if (rows !== ROWS)
      throw new Error(`${format}: restore reported ${rows} rows in public.customers, expected ${ROWS}`);
    runs.push({ backupMs, restoreMs, bytes: meta.bytes });
    console.log(
      `${format} #${i + 1}: backup ${Math.round(backupMs)} ms, ${r1(meta.bytes / MB)} MB; ` +
        `restore ${Math.round(restoreMs)} ms`,
    );
  }
  const backupMs = median(runs.map((r) => r.backupMs));
  const restoreMs = median(runs.map((r) => r.restoreMs));
  const bytes = median(runs.map((r) => r.bytes));
  return {
    backup: {
      ms: Math.round(backupMs),
      maxMs: Math.round(Math.max(...runs.map((r) => r.backupMs))),
      rowsPerSec: Math.round(ROWS / (backupMs / 1000)),
      fileMBPerSec: r1(bytes / MB / (backupMs / 1000)),
      dataMBPerSec: r1(dataMB / (backupMs / 1000)),
    },
    fileMB: r1(bytes / MB),
    fileBytes: bytes,
    restore: {
      ms: Math.round(restoreMs),
      maxMs: Math.round(Math.max(...runs.map((r) => r.restoreMs))),
      rowsPerSec: Math.round(ROWS / (restoreMs / 1000)),
      fileMBPerSec: r1(bytes / MB / (restoreMs / 1000)),
      dataMBPerSec: r1(dataMB / (restoreMs / 1000)),
    },
  };
}

const watchdog = setTimeout(() => {
  console.error('backup bench: gave up after 10 minutes');
  process.exit(1);
}, 10 * 60_000);
watchdog.unref();

const loadBefore = os.loadavg()[0];
const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-bench-backup-'));
let pg;
try {
  pg = await startPostgres();
  const pgDump = (await import('node:child_process'))
    .execFileSync('pg_dump', ['--version'], { encoding: 'utf8' })
    .trim();
  const scale = await fillCustomers(pg, ROWS);
  const result = {
    when: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    pgDump,
    rows: ROWS,
    rounds: ROUNDS,
    ...scale,
  };
  for (const format of ['custom', 'plain'])
    result[format] = await measure(pg, projectDir, format, scale.tableWithIndexesMB);
  fs.mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', 'out', 'backup.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
  if (process.argv.includes('--merge')) mergeIntoResults('backup', result, loadBefore);
  clearTimeout(watchdog);
} catch (e) {
  console.error(e.message ?? e);
  process.exitCode = 1;
} finally {
  await pg?.cleanup();
  fs.rmSync(projectDir, { recursive: true, force: true });
}
