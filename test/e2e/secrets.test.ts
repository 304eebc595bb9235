/** I8: a secret from .env never appears in output, history or state, even when a failure echoes it. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { useProject } from '../helpers/project.ts';

const SECRET = 'tok-9f8e7d6c5b4a-do-not-print';
const project = useProject({ before, after }, 'fixture');

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'releases' && e.name !== 'logs') out.push(...(await listFiles(p)));
    } else out.push(p);
  }
  return out;
}

test('a smoke failure that echoes the secret prints *** instead, and nothing switchyard writes holds it', async () => {
  const p = project();
  await fs.writeFile(path.join(p.dir, '.env'), `API_TOKEN=${SECRET}\n`);
  const yml = path.join(p.dir, 'switchyard.yml');
  const original = await fs.readFile(yml, 'utf8');
  // The echo step sends the token and expects something else, so the failure detail shows the echoed body.
  await fs.writeFile(
    yml,
    `env_file: .env\n` +
      original
        .replace('json: { hello: world } }', 'json: { token: "${API_TOKEN}" } }')
        .replace('expect: { status: 200, json: { echo: { hello: world } } }', 'expect: { status: 200, json: { echo: { token: nope } } }'),
  );
  const r = await p.run(['init']);
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 1, out);
  assert.match(out, /smoke step "echo" failed/);
  assert.match(out, /\*\*\*/, 'the redaction marker is shown where the secret was');
  assert.ok(!out.includes(SECRET), 'the secret is not in the output');
  const json = await p.run(['init', '--json']);
  assert.ok(!(json.stdout + json.stderr).includes(SECRET), 'nor in --json events');
  for (const f of await listFiles(path.join(p.dir, '.switchyard'))) {
    const text = await fs.readFile(f, 'utf8').catch(() => '');
    assert.ok(!text.includes(SECRET), `${path.relative(p.dir, f)} holds the secret`);
  }
});
