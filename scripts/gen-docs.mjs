#!/usr/bin/env node
// Writes the generated parts of the docs, so they cannot drift from what the CLI accepts:
//  - docs/commands.md, between <!-- help --> and <!-- /help -->: the program's --help, then each
//    command's;
//  - docs/configuration.md, between <!-- config-table --> and <!-- /config-table -->: one row per key
//    of switchyard.yml, from the descriptions in the schema itself (schema/switchyard.schema.json,
//    which the build writes from src/config/*schema*.ts). A key without a description is an error.
// With --check it changes nothing and exits 1 when a page is not current. Run after `npm run build`
// (it runs dist/switchyard.mjs and reads the built schema). Usage: node scripts/gen-docs.mjs [--check]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let failed = false;

/** Puts `body` between the markers of `file`; in check mode only says whether it is already there. */
function place(file, name, body, what) {
  const START = `<!-- ${name} -->`;
  const END = `<!-- /${name} -->`;
  const rel = path.relative(root, file);
  const text = fs.readFileSync(file, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) {
    console.error(`gen-docs: ${rel} has no ${START} ... ${END} markers`);
    failed = true;
    return;
  }
  const generated = `${START}\n<!-- written by scripts/gen-docs.mjs: do not edit by hand -->\n\n${body}\n${END}`;
  const next = text.slice(0, a) + generated + text.slice(b + END.length);
  if (!check) {
    fs.writeFileSync(file, next);
    console.log(`gen-docs: wrote ${what} into ${rel}`);
  } else if (next !== text) {
    console.error(`gen-docs: ${rel} is not current: run \`npm run build && node scripts/gen-docs.mjs\``);
    failed = true;
  } else console.log(`gen-docs: ${rel} is current (${what})`);
}

// ---------------------------------------------------------------- commands.md from --help
// 80 columns whatever the terminal: the page is the same on every machine.
const help = (args) =>
  execFileSync(process.execPath, [path.join(root, 'dist', 'switchyard.mjs'), ...args, '--help'], {
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
place(path.join(root, 'docs', 'commands.md'), 'help', sections.join('\n'), `${commands.length} commands`);

// ---------------------------------------------------------------- configuration.md from the schema
const schema = JSON.parse(fs.readFileSync(path.join(root, 'schema', 'switchyard.schema.json'), 'utf8'));

/** A node with $ref resolved against the schema's $defs. */
function deref(node) {
  let n = node;
  while (n && typeof n.$ref === 'string') n = schema.$defs?.[n.$ref.replace('#/$defs/', '')] ?? {};
  return n ?? {};
}

const show = (v) => {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length === 0 ? '`[]`' : v.map((x) => `\`${x}\``).join(', ');
  if (typeof v === 'object' && v !== null) return Object.keys(v).length === 0 ? '`{}`' : `\`${JSON.stringify(v)}\``;
  return `\`${v}\``;
};

const rows = new Map();
const undocumented = [];

/** One row per described key; the branches of a union (proxy.kind, backup.kind, steps) add their keys. */
function walk(raw, key, required) {
  const node = deref(raw);
  if (key && raw.description === undefined && node.description === undefined && !node.anyOf && !node.oneOf) {
    // An item of a list, an entry of a map: its parent's row describes it.
    if (!key.endsWith('[]') && !key.endsWith('.<name>')) undocumented.push(key);
  }
  const description = raw.description ?? node.description;
  if (key && description !== undefined) {
    const given = raw['x-default'] ?? node['x-default'];
    // A value (a duration, a number, a list) in backticks, like the JSON defaults; prose as it is.
    const written =
      given !== undefined && /^([\d.]+(ms|s|m|h)?|[[{].*|[a-z][\w-]*)$/.test(given) ? `\`${given}\`` : given;
    const dflt = written !== undefined ? written : (show(raw.default ?? node.default) ?? (required ? 'required' : '–'));
    const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const prev = rows.get(key);
    // The branches of a union may word a shared key differently: the fuller wording wins.
    const meaning = prev && prev.meaning.length > cell(description).length ? prev.meaning : cell(description);
    rows.set(key, { key, dflt: cell(dflt), meaning });
  }
  // A parent's row first, then its keys; a union's branches in turn (their shared keys merge).
  for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])])
    walk(branch, key, required);
  const props = node.properties ?? {};
  for (const [k, child] of Object.entries(props))
    walk(child, key ? `${key}.${k}` : k, (node.required ?? []).includes(k));
  if (node.additionalProperties && typeof node.additionalProperties === 'object' && !node.properties) {
    walk(node.additionalProperties, `${key}.<name>`, false);
  }
  if (node.type === 'array' && node.items) walk(node.items, `${key}[]`, false);
}

for (const [k, child] of Object.entries(schema.properties ?? {})) {
  if (k !== '$schema') walk(child, k, (schema.required ?? []).includes(k));
}
const missing = [...new Set(undocumented)].filter((k) => !rows.has(k));
if (missing.length) {
  console.error(`gen-docs: keys of switchyard.yml without a description in the schema: ${missing.join(', ')}`);
  failed = true;
}
const table = [
  '| key | default | meaning |',
  '| --- | --- | --- |',
  ...[...rows.values()].map((r) => `| \`${r.key}\` | ${r.dflt} | ${r.meaning} |`),
].join('\n');
place(path.join(root, 'docs', 'configuration.md'), 'config-table', table, `${rows.size} keys`);

// The published JSON Schema is written by the build; committed, it must be what the build writes.
if (check && fs.existsSync(path.join(root, '.git'))) {
  try {
    execFileSync('git', ['diff', '--quiet', '--', 'schema/switchyard.schema.json'], { cwd: root, stdio: 'ignore' });
    console.log('gen-docs: schema/switchyard.schema.json is current');
  } catch {
    console.error('gen-docs: schema/switchyard.schema.json differs from what the build writes: commit it');
    failed = true;
  }
}

process.exit(failed ? 1 : 0);
