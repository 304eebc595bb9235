#!/usr/bin/env node
// Writes the reference part of docs/commands.md from the CLI's own --help (so it cannot drift from
// what the CLI accepts): the program's help, then each command's, between the <!-- help --> and
// <!-- /help --> markers. With --check it changes nothing and exits 1 when the page is not current.
// Run after `npm run build` (it runs dist/switchyard.mjs). Usage: node scripts/gen-docs.mjs [--check]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'switchyard.mjs');
const page = path.join(root, 'docs', 'commands.md');
const START = '<!-- help -->';
const END = '<!-- /help -->';

// 80 columns whatever the terminal: the page is the same on every machine.
const help = (args) =>
  execFileSync(process.execPath, [cli, ...args, '--help'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, COLUMNS: '80', FORCE_COLOR: '0', NO_COLOR: '1' },
  }).trimEnd();

const main = help([]);
const commands = [...main.split('\nCommands:\n')[1].matchAll(/^ {2}([a-z][a-z-]*)/gm)]
  .map((m) => m[1])
  .filter((c) => c !== 'help');
const sections = [
  '## switchyard',
  '',
  '```text',
  main,
  '```',
  ...commands.flatMap((c) => ['', `## switchyard ${c}`, '', '```text', help([c]), '```']),
];
const generated =
  `${START}\n` +
  `<!-- written by scripts/gen-docs.mjs from the CLI's --help: do not edit by hand -->\n\n` +
  `${sections.join('\n')}\n${END}`;

const text = fs.readFileSync(page, 'utf8');
const a = text.indexOf(START);
const b = text.indexOf(END);
if (a < 0 || b < a) {
  console.error(`gen-docs: ${path.relative(root, page)} has no ${START} ... ${END} markers`);
  process.exit(1);
}
const next = text.slice(0, a) + generated + text.slice(b + END.length);
if (process.argv.includes('--check')) {
  if (next !== text) {
    console.error(
      `gen-docs: ${path.relative(root, page)} is not current: run \`npm run build && node scripts/gen-docs.mjs\``,
    );
    process.exit(1);
  }
  console.log(`gen-docs: ${path.relative(root, page)} is current (${commands.length} commands)`);
} else {
  fs.writeFileSync(page, next);
  console.log(`gen-docs: wrote ${commands.length} commands into ${path.relative(root, page)}`);
}
