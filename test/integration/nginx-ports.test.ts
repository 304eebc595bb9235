/**
 * Stable backend ports (process runtime), which keep nginx's upstreams, and so its config, the same
 * from one deploy to the next; and the TLS file rule.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { tlsFilesExist } from '../../src/config/files.js';
import { portsFile, stablePorts } from '../../src/runtime/process/port-memory.js';
import { projectPaths } from '../../src/state/paths.js';
import { budget } from '../helpers/budget.js';

test(
  'a picked port is remembered per colour and service, reused while free, replaced when taken',
  budget(100),
  async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-ports-'));
    const paths = projectPaths(root);
    try {
      const first = await stablePorts(paths, 'blue', ['api', 'web'], new Set());
      assert.notEqual(first.api, first.web);
      assert.deepEqual(await stablePorts(paths, 'blue', ['api', 'web'], new Set()), first, 'same ports next time');
      const green = await stablePorts(paths, 'green', ['api', 'web'], new Set());
      assert.ok(
        ![first.api, first.web].includes(green.api!) && ![first.api, first.web].includes(green.web!),
        "green never takes blue's ports",
      );

      const squatter = net.createServer();
      await new Promise<void>((r) => squatter.listen(first.api, '127.0.0.1', () => r()));
      try {
        const moved = await stablePorts(paths, 'blue', ['api', 'web'], new Set());
        assert.notEqual(moved.api, first.api, 'a taken port is not reused');
        assert.equal(moved.web, first.web);
        const saved = JSON.parse(await fs.readFile(portsFile(paths), 'utf8'));
        assert.equal(saved.blue.api, moved.api, 'the new port is remembered');
        assert.equal(saved.green.web, green.web);
      } finally {
        squatter.close();
      }
      // A port fixed for another service in this start is never handed out.
      const remembered = JSON.parse(await fs.readFile(portsFile(paths), 'utf8')).blue.api as number;
      const again = await stablePorts(paths, 'blue', ['api'], new Set([remembered]));
      assert.notEqual(again.api, remembered);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  },
);

test('tls files must exist (relative to the project folder)', budget(100), async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-tls-rule-'));
  try {
    await fs.writeFile(path.join(root, 'cert.pem'), 'x');
    const c = configSchema.parse({
      app: 'a',
      proxy: {
        kind: 'nginx',
        listen: { http: 1, https: 2 },
        tls: { cert: 'cert.pem', key: 'nope.pem' },
        routes: [{ path: '/', service: 's' }],
      },
      services: { s: { command: 'x', health: { path: '/' } } },
    });
    assert.deepEqual(tlsFilesExist(c, root), [{ path: 'proxy.tls.key', message: 'file not found', got: 'nope.pem' }]);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
