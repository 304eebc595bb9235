/**
 * How the nginx drain finds a colour's connections in /proc (src/proxy/nginx/procfs.ts), on real
 * loopback sockets of this process: by port alone (one machine: a colour's ports are its own), or
 * by address and port (a swarm: both colours' tasks listen on the same port).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { upstreamConnections } from '../../src/proxy/nginx/procfs.ts';

let server: net.Server;
let port: number;
const clients: net.Socket[] = [];
const accepted: net.Socket[] = [];

before(async () => {
  server = net.createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  for (let i = 0; i < 2; i++) {
    const c = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => c.once('connect', () => r()));
    clients.push(c);
  }
});

after(async () => {
  for (const c of [...clients, ...accepted]) c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

test('by port: every established connection to it', async () => {
  assert.equal(await upstreamConnections([process.pid], [{ port }]), 2);
});

test('by address and port: only that address counts', async () => {
  assert.equal(await upstreamConnections([process.pid], [{ address: '127.0.0.1', port }]), 2);
  assert.equal(await upstreamConnections([process.pid], [{ address: '127.0.0.2', port }]), 0);
  assert.equal(await upstreamConnections([process.pid], [{ address: '127.0.0.1', port: port + 1 }]), 0);
});

test("another process's sockets do not count", async () => {
  assert.equal(await upstreamConnections([process.ppid], [{ port }]), 0);
});
