// A published port written as a variable stays one in switchyard.yml when switchyard reads the form
// there (`listen.http: "${PORT:-8080}"`); the decisions (port clashes, the notes) use its value now.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { convertCompose } from '../../src/compose/index.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function convert(services: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sy-compose-published-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'compose.yaml'), `services:\n${services}`);
  const r = await convertCompose({ dir, env });
  const c = parse(r.text) as {
    proxy: { listen: Record<string, unknown> };
    shared?: Record<string, { ports?: string[] }>;
  };
  return { listen: c.proxy.listen, shared: c.shared, notes: r.decisions.map((n) => n.message) };
}

const app = (ports: string) => `  web:\n    image: me/web\n    ports:\n${ports}`;

test('a variable port stays a variable; the note gives its value now', async () => {
  const r = await convert(app('      - "127.0.0.1:${SWITCHYARD_PORT:-8080}:80"\n'), { SWITCHYARD_PORT: '18080' });
  assert.deepEqual(r.listen, { http: '${SWITCHYARD_PORT:-8080}', host: '127.0.0.1' });
  assert.ok(
    r.notes.includes(
      'proxy: the built-in proxy takes port ${SWITCHYARD_PORT:-8080} (18080 now), where compose published web',
    ),
  );
  const bare = await convert(app('      - "${PORT}:80"\n'), { PORT: '9000' });
  assert.equal(bare.listen.http, '${PORT}');
  const dollar = await convert(app('      - "$PORT:80"\n'), { PORT: '9000' });
  assert.equal(dollar.listen.http, '${PORT}', '$NAME as switchyard writes it');
  const long = await convert(app('      - { target: 80, published: "${P:-8080}" }\n'));
  assert.equal(long.listen.http, '${P:-8080}');
});

test('forms switchyard cannot read as a port are written as their value now', async () => {
  const dash = await convert(app('      - "${P-8080}:80"\n'));
  assert.equal(dash.listen.http, '${P:-8080}');
  assert.ok(dash.notes.some((n) => n.includes('written as ${P:-...}')));
  const part = await convert(app('      - "80${SUFFIX:-80}:80"\n'));
  assert.equal(part.listen.http, 8080, 'part of the port: its value');
  const nested = await convert(app('      - "${A:-${B:-8081}}:80"\n'));
  assert.equal(nested.listen.http, 8081);
  const plain = await convert(app('      - "8080:80"\n'));
  assert.equal(plain.listen.http, 8080);
});

test('nginx in front and a shared service keep the variable too', async () => {
  const r = await convert(
    '  api:\n    image: me/api\n' +
      '  proxy:\n    image: nginx\n    ports: ["${HTTP_PORT:-80}:80"]\n' +
      '  db:\n    image: postgres:16\n    ports: ["127.0.0.1:${PG_PORT:-5432}:5432"]\n',
    { PG_PORT: '15432' },
  );
  assert.equal(r.listen.http, '${HTTP_PORT:-80}');
  assert.ok(r.notes.includes('proxy: listens on ${HTTP_PORT:-80} (80 now)'));
  assert.deepEqual(r.shared?.db?.ports, ['127.0.0.1:${PG_PORT:-5432}:5432']);
});

test('port clashes are decided on the values now', async () => {
  await assert.rejects(
    convert(app('      - "${A:-8080}:80"\n') + '  api:\n    image: me/api\n    ports: ["8080:81"]\n'),
    /publishes port 8080, already published by services\.web/,
  );
});
