/** nginx counting's files without nginx: on/off, and the incremental log reader (partial lines, truncation). */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ensureDirs, nginxFiles } from '../../src/proxy/nginx/files.ts';
import { LogReader, watchOff, watchOn, watching } from '../../src/proxy/nginx/watch.ts';
import { projectPaths } from '../../src/state/paths.ts';

const line = (colour: string, status = 200, at = Date.now()) =>
  JSON.stringify({
    t: (at / 1000).toFixed(3),
    c: colour,
    s: String(status),
    rt: '0.005',
    us: String(status),
    ut: '0.004',
    uh: '0.004',
    ua: '127.0.0.1:9',
  }) + '\n';

async function temp() {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-nginx-watch-'));
  const f = nginxFiles(projectPaths(root));
  await ensureDirs(f);
  return { f, done: () => fs.rm(root, { recursive: true, force: true }) };
}

test('on truncates in place (same inode nginx holds), off keeps the figures, on again starts from zero', async () => {
  const { f, done } = await temp();
  try {
    assert.equal((await fs.stat(f.accessLog)).mode & 0o777, 0o600);
    await fs.appendFile(f.accessLog, line('blue', 200, Date.now() - 60_000));
    const inode = (await fs.stat(f.accessLog)).ino;
    const reader = new LogReader();
    assert.deepEqual((await reader.read(f)).enabled, false);
    await watchOn(f);
    assert.equal(await watching(f), true);
    assert.equal((await fs.stat(f.accessLog)).size, 0);
    assert.equal((await fs.stat(f.accessLog)).ino, inode);
    assert.equal((await fs.stat(f.watchFlag)).mode & 0o777, 0o600);
    await fs.appendFile(f.accessLog, line('blue') + line('green', 500));
    let s = await reader.read(f);
    assert.equal(s.enabled, true);
    assert.deepEqual([s.colours.blue.requests, s.colours.green.requests, s.colours.green.errors], [1, 1, 1]);
    // A line written in two pieces is counted once, when it is complete.
    const l = line('blue');
    await fs.appendFile(f.accessLog, l.slice(0, 20));
    assert.equal((await reader.read(f)).colours.blue.requests, 1);
    await fs.appendFile(f.accessLog, `${l.slice(20)}garbage\n`);
    assert.equal((await reader.read(f)).colours.blue.requests, 2);
    await watchOn(f); // already on: nothing changes
    assert.equal((await reader.read(f)).colours.blue.requests, 2);

    await watchOff(f);
    assert.equal(await watching(f), false);
    await fs.appendFile(f.accessLog, line('blue', 200, Date.now() + 5_000)); // after the window
    s = await reader.read(f);
    assert.equal(s.enabled, false);
    assert.equal(s.colours.blue.requests, 2, 'figures kept, nothing after the end counted');
    assert.deepEqual(await new LogReader().read(f), s, 'a fresh reader agrees');

    await new Promise((r) => setTimeout(r, 5));
    await watchOn(f);
    s = await reader.read(f);
    assert.deepEqual([s.enabled, s.colours.blue.requests, s.colours.green.requests], [true, 0, 0]);
    await fs.appendFile(f.accessLog, line('green'));
    assert.equal((await reader.read(f)).colours.green.requests, 1);
  } finally {
    await done();
  }
});

test("a log truncated behind the reader's back starts the count again instead of reading past the end", async () => {
  const { f, done } = await temp();
  try {
    await watchOn(f);
    const reader = new LogReader();
    await fs.appendFile(f.accessLog, line('blue').repeat(10));
    assert.equal((await reader.read(f)).colours.blue.requests, 10);
    await fs.truncate(f.accessLog, 0);
    await fs.appendFile(f.accessLog, line('green'));
    const s = await reader.read(f);
    assert.deepEqual([s.colours.blue.requests, s.colours.green.requests], [0, 1]);
  } finally {
    await done();
  }
});

test('reads a large log in bounded chunks', async () => {
  const { f, done } = await temp();
  try {
    await watchOn(f);
    await fs.appendFile(f.accessLog, line('blue').repeat(20_000)); // ~3 MB: several 1 MiB chunks
    assert.equal((await new LogReader().read(f)).colours.blue.requests, 20_000);
  } finally {
    await done();
  }
});
