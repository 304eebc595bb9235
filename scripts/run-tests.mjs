#!/usr/bin/env node
// Runs the test suites with Node's built-in runner (through tsx for TypeScript).
// Usage: node scripts/run-tests.mjs [--exclude REGEX] [unit|integration|e2e ...]   (default: all)
// --exclude leaves out the test files whose path (test/<suite>/<file>) matches REGEX, and says
// which (CI's Node 24 pass: .ci/run).
// Suites run one after another; files inside a suite run in parallel up to TEST_CONCURRENCY.
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const all = ['unit', 'integration', 'e2e'];
const argv = process.argv.slice(2);
let exclude;
const at = argv.indexOf('--exclude');
if (at !== -1) {
  if (argv[at + 1] === undefined) {
    console.error('--exclude needs a regular expression');
    process.exit(2);
  }
  exclude = new RegExp(argv[at + 1]);
  argv.splice(at, 2);
}
const wanted = argv.length ? argv : all;
const files = [];
for (const suite of wanted) {
  if (!all.includes(suite)) {
    console.error(`unknown suite "${suite}"; expected one of ${all.join(', ')}`);
    process.exit(2);
  }
  const dir = path.join(root, 'test', suite);
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.test.ts')) files.push(path.join('test', suite, f));
}
if (exclude) {
  const left = files.filter((f) => exclude.test(f));
  console.log(`run-tests: left out by --exclude ${exclude.source}: ${left.join(', ') || 'none'}`);
  for (const f of left) files.splice(files.indexOf(f), 1);
}
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// *.serial.test.ts files disturb shared infrastructure (e.g. restart the Docker engine): they run
// after all the others, one at a time, so no other test is using what they break.
const serial = files.filter((f) => f.endsWith('.serial.test.ts'));
const parallel = files.filter((f) => !serial.includes(f));
let status = 0;
for (const [batch, n] of [
  [parallel, concurrency],
  [serial, '1'],
]) {
  if (batch.length === 0) continue;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${n}`, ...batch], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
