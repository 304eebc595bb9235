/**
 * WebSocket through a real nginx run by the driver: the upgrade reaches the backend of the active
 * colour (the rendered `Upgrade` / `Connection $connection_upgrade` headers), messages go both ways,
 * the 101 carries X-Switchyard-Env, and a colour switch (the flag file, no reload) sends new
 * WebSockets to the new colour while one opened before keeps talking to the old one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { workersOf } from '../../src/proxy/nginx/procfs.js';
import type { ProxyControl } from '../../src/proxy/types.js';
import { startBackend, waitFor, type TestBackend } from '../helpers/backends.js';
import { nginxProject, startWith, type NginxProject } from '../helpers/nginx.js';
import { budget } from '../helpers/budget.js';

interface Opened {
  ws: WebSocket;
  hello: string;
  /** The 101 nginx answered the upgrade with. */
  upgrade: IncomingMessage;
}

function open(url: string): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: 5_000 });
    let upgrade: IncomingMessage | undefined;
    ws.once('upgrade', (res) => (upgrade = res));
    ws.once('message', (d) => resolve({ ws, hello: d.toString(), upgrade: upgrade! }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

/** Sends `text` and resolves with the next message. */
function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${text} within 5 s`)), 5_000);
    ws.once('message', (d) => {
      clearTimeout(t);
      resolve(d.toString());
    });
    ws.send(text);
  });
}

const closed = (ws: WebSocket) =>
  new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', () => r())));

describe('WebSocket through nginx', () => {
  let blue: TestBackend;
  let green: TestBackend;
  let p: NginxProject;
  let control: ProxyControl;
  const opened: WebSocket[] = [];

  before(async () => {
    blue = await startBackend('blue');
    green = await startBackend('green');
    p = await nginxProject([{ path: '/', service: 'app' }]);
    control = await startWith(p, 'app', blue.port, green.port);
  }, budget(600));
  after(async () => {
    for (const ws of opened) ws.terminate();
    await p.cleanup();
    await blue.close();
    await green.close();
  }, budget(200));

  it('upgrades to the active colour, echoes messages, and names the colour on the 101', budget(100), async () => {
    const a = await open(`ws://127.0.0.1:${p.port}/chat?room=1`);
    opened.push(a.ws);
    assert.equal(a.upgrade.statusCode, 101);
    assert.equal(a.upgrade.headers.upgrade?.toLowerCase(), 'websocket');
    assert.equal(a.upgrade.headers['x-switchyard-env'], 'blue', 'add_header ... always reaches the 101');
    assert.equal(a.upgrade.headers.server, 'nginx', 'server_tokens off: no version on the 101 either');
    // The backend saw the path and query, and nginx's X-Forwarded-For.
    assert.equal(a.hello, 'hello from blue /chat?room=1 127.0.0.1');
    assert.equal(await echo(a.ws, 'ping'), 'blue:ping');
    assert.equal(await echo(a.ws, 'again'), 'blue:again');
    assert.equal(blue.sockets.size, 1);
    assert.equal(green.sockets.size, 0);
    a.ws.close(1000, 'done');
    await closed(a.ws);
    assert.ok(await waitFor(() => blue.sockets.size === 0), 'the close reached the backend');
  });

  it(
    'after a switch (flag file, no reload) a new WebSocket lands on green while the open one keeps talking to blue',
    budget(100),
    async () => {
      const old = await open(`ws://127.0.0.1:${p.port}/old`);
      opened.push(old.ws);
      assert.equal(old.upgrade.headers['x-switchyard-env'], 'blue');
      assert.equal(await echo(old.ws, 'before'), 'blue:before');

      const pid = (await p.driver.alive())!.pid;
      const workers = (await workersOf(pid)).map((w) => w.pid).sort();
      await control.switchTo('green');
      assert.ok((await fs.stat(p.files.flag)).isFile(), 'green.active is what nginx tests');
      assert.deepEqual(
        (await workersOf(pid)).map((w) => w.pid).sort(),
        workers,
        'no reload: the same workers hold the open WebSocket',
      );

      const fresh = await open(`ws://127.0.0.1:${p.port}/new`);
      opened.push(fresh.ws);
      assert.equal(fresh.upgrade.headers['x-switchyard-env'], 'green');
      assert.equal(fresh.hello, 'hello from green /new 127.0.0.1');
      assert.equal(await echo(fresh.ws, 'hi'), 'green:hi');

      // The WebSocket opened before the switch is still relayed to blue, both ways.
      assert.equal(old.ws.readyState, WebSocket.OPEN);
      assert.equal(await echo(old.ws, 'after'), 'blue:after');
      assert.equal(blue.sockets.size, 1);
      assert.equal(green.sockets.size, 1);

      // And back by hand, as nginx reads it: the flag file removed -> blue for the next one.
      await fs.rm(p.files.flag);
      const third = await open(`ws://127.0.0.1:${p.port}/third`);
      opened.push(third.ws);
      assert.equal(third.upgrade.headers['x-switchyard-env'], 'blue');
      assert.equal(await echo(third.ws, 'x'), 'blue:x');
      assert.equal(await echo(fresh.ws, 'still'), 'green:still', 'the green one survives the switch back');
      assert.equal(await echo(old.ws, 'still'), 'blue:still');

      for (const ws of [old.ws, fresh.ws, third.ws]) ws.close(1000);
      await Promise.all([old.ws, fresh.ws, third.ws].map(closed));
      assert.ok(
        await waitFor(() => blue.sockets.size === 0 && green.sockets.size === 0),
        'every close reached its backend',
      );
    },
  );
});
