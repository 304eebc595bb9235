// Putting one benchmark's figures into bench/results.json without running all of them (`--merge`
// of a single bench script). `npm run bench` (bench/run.mjs) still rewrites the whole file; a merge
// replaces only its own key and records that it came from a separate run, and when, so no table
// passes it off as part of the full run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from './options.mjs';

export function mergeIntoResults(name, data, loadAvg1mBefore = os.loadavg()[0]) {
  const file = path.join(root, 'bench', 'results.json');
  const results = fs.existsSync(file)
    ? JSON.parse(fs.readFileSync(file, 'utf8'))
    : {
        when: new Date().toISOString(),
        node: process.version,
        machine: { cpus: os.cpus().length, loadAvg1mBefore: {} },
      };
  results[name] = data;
  results.machine ??= { cpus: os.cpus().length, loadAvg1mBefore: {} };
  results.machine.loadAvg1mBefore ??= {};
  results.machine.loadAvg1mBefore[name] = Number(loadAvg1mBefore.toFixed(2));
  results.rerunAlone ??= {};
  results.rerunAlone[name] = data.when ?? new Date().toISOString();
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`merged ${name} into bench/results.json`);
}
