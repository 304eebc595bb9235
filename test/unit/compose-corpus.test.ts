// The compose corpus (test/fixtures/compose/<NN-name>/): each project converts to exactly its
// expected.switchyard.yml, with exactly its expected.notes.txt (decisions, then what is
// unsupported, `file:line: message`), and the text loads with switchyard's own schema and rules.
// args.json, when present, gives the -f files and the environment (never the real one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { convertCompose } from '../../src/compose/index.ts';
import { interpolateTree, SECRET_NAME } from '../../src/config/env.ts';
import { runRules } from '../../src/config/rules.ts';
import { configSchema } from '../../src/config/schema.ts';

const root = path.resolve(import.meta.dirname, '../fixtures/compose');
const cases = readdirSync(root).filter((d) => /^\d\d-/.test(d));

test('the corpus has at least 12 projects', () => {
  assert.ok(cases.length >= 12, `${cases.length} cases`);
});

for (const name of cases) {
  test(`compose corpus: ${name}`, async () => {
    const dir = path.join(root, name);
    const argsFile = path.join(dir, 'args.json');
    const args = existsSync(argsFile) ? JSON.parse(readFileSync(argsFile, 'utf8')) : {};
    const env: Record<string, string> = args.env ?? {};
    const r = await convertCompose({ dir, files: args.files, env });
    assert.equal(r.text, readFileSync(path.join(dir, 'expected.switchyard.yml'), 'utf8'));
    const notes = [
      ...r.decisions.map((n) => `${n.file}:${n.line}: ${n.message}`),
      ...r.unsupported.map((n) => `${n.file}:${n.line}: unsupported: ${n.message}`),
    ];
    assert.deepEqual(notes, readFileSync(path.join(dir, 'expected.notes.txt'), 'utf8').trimEnd().split('\n'));
    for (const f of r.files) assert.ok(existsSync(path.join(dir, f)), f);
    // switchyard's schema and rules accept it (variables compose leaves empty are empty here too).
    const dotenv = existsSync(path.join(dir, '.env')) ? parseDotenvLoose(path.join(dir, '.env')) : {};
    const vars = new Proxy({ ...dotenv, ...env } as Record<string, string>, { get: (t, k) => t[k as string] ?? '' });
    const config = configSchema.parse(interpolateTree(parse(r.text), vars).value);
    assert.deepEqual(runRules(config), []);
    assert.equal(config.runtime, 'docker');
    // No secret read from .env is written in clear.
    for (const [k, v] of Object.entries(dotenv))
      if (SECRET_NAME.test(k)) assert.ok(!r.text.includes(v), `${k}'s value written in clear`);
  });
}

function parseDotenvLoose(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}
