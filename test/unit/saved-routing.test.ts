/** One check for the routing state both proxies save (src/proxy/saved.ts): the same file content, the same verdict. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkSnapshot } from '../../src/proxy/builtin/snapshot.ts';
import { nginxFiles, readNginxState } from '../../src/proxy/nginx/files.ts';
import { projectPaths } from '../../src/state/paths.ts';

const listen = { host: '127.0.0.1', port: 8080 };
const routes = [{ path: '/', service: 'web' }];

async function nginxReads(content: string): Promise<unknown> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-saved-'));
  try {
    const files = nginxFiles(projectPaths(dir));
    await fs.mkdir(path.dirname(files.state), { recursive: true });
    await fs.writeFile(files.state, content);
    return await readNginxState(files);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
  [
    'a backend without a port',
    { active: 'blue', backends: { blue: { web: { host: '127.0.0.1' } } } },
    /backend for "web"/,
  ],
  ['a colour that is not one', { active: 'red', backends: {} }, /red/],
  ['backends that are not an object', { active: null, backends: [1] }, /invalid proxy state: backends/],
  ['features of the wrong shape', { active: null, backends: {}, features: { sticky: 42 } }, /invalid proxy/],
];

for (const [what, saved, words] of refusals) {
  test(`${what}: both proxies refuse the saved state with the same words`, async () => {
    let builtin: unknown;
    try {
      checkSnapshot({ listen, routes, ...saved });
    } catch (e) {
      builtin = e;
    }
    const nginx = await nginxReads(JSON.stringify(saved)).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(builtin instanceof Error && nginx instanceof Error, 'both refused');
    assert.match(builtin.message, words);
    assert.equal(nginx.message, builtin.message);
    assert.equal((nginx as { code?: string }).code, 'PROXY_FAILED');
  });
}

test('nginx: a state that is not JSON is an error naming the file and the fix, not an empty table', async () => {
  await assert.rejects(nginxReads('{"active": "blue", "backe'), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'PROXY_FAILED');
    assert.match(e.message, /cannot read nginx's state .*nginx\/state\.json/);
    assert.match(e.hint ?? '', /switchyard down/);
    return true;
  });
});

test('nginx: a saved state reads back as written (colour, backends, features)', async () => {
  const saved = {
    active: 'green',
    backends: {
      green: {
        web: [
          { host: '127.0.0.1', port: 4100 },
          { host: '127.0.0.1', port: 4101 },
        ],
      },
    },
  };
  assert.deepEqual(await nginxReads(JSON.stringify(saved)), saved);
});

test('a backend saved before instances (one { host, port }) reads back as a list of one', async () => {
  const old = { active: 'blue', backends: { blue: { web: { host: '127.0.0.1', port: 4100 } } } };
  assert.deepEqual(await nginxReads(JSON.stringify(old)), {
    active: 'blue',
    backends: { blue: { web: [{ host: '127.0.0.1', port: 4100 }] } },
  });
});

test('an empty instance list is refused', async () => {
  await assert.rejects(
    nginxReads(JSON.stringify({ active: 'blue', backends: { blue: { web: [] } } })),
    /backend for "web": expected at least one/,
  );
});
