#!/usr/bin/env node
// No line over 120 columns in the code (src, test, scripts, bench, the example app): Biome wraps
// code at 120, but it leaves long strings and comments alone, so this names what it cannot fix.
// Usage: node scripts/check-lines.mjs [--max 120]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = process.argv.indexOf('--max');
const max = at > 0 ? Number(process.argv[at + 1]) : 120;
const tracked = execFileSync(
  'git',
  ['ls-files', '-co', '--exclude-standard', 'src', 'test', 'scripts', 'bench', 'examples'],
  { cwd: root, encoding: 'utf8' },
)
  .split('\n')
  .filter((f) => /\.(ts|mjs|js)$/.test(f) && !f.includes('/vendor/') && fs.existsSync(path.join(root, f)));
const long = [];
for (const f of tracked) {
  fs.readFileSync(path.join(root, f), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      // Columns as an editor counts them: one per code point.
      const width = [...line].length;
      if (width > max) long.push(`${f}:${i + 1}: ${width} columns`);
    });
}
for (const l of long) console.error(l);
if (long.length) {
  console.error(`check-lines: ${long.length} line(s) over ${max} columns in ${tracked.length} files`);
  process.exit(1);
}
console.log(`check-lines: ${tracked.length} files, no line over ${max} columns`);
