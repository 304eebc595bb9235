/**
 * How the nginx drain finds a colour's connections in /proc (src/proxy/nginx/procfs.ts), on real
 * loopback sockets of this process: by port alone (one machine: a colour's ports are its own), or
 * by address and port (a swarm: both colours' tasks listen on the same port).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { tcpSocketsOf, toUpstream, type Upstream } from '../../src/proxy/nginx/procfs.ts';

/** Established connections of `pids` to any of `upstreams`. */
async function upstreamConnections(pids: number[], upstreams: Upstream[]): Promise<number> {
  const sockets = [...(await tcpSocketsOf(pids)).values()].flat();
  return sockets.filter((s) => !s.listening && toUpstream(s.remote, upstreams)).length;
}

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

test('each socket with both ends, and the listening one', async () => {
  const mine = (await tcpSocketsOf([process.pid])).get(process.pid) ?? [];
  assert.ok(mine.some((s) => s.listening && s.local.port === port && s.local.address === '127.0.0.1'));
  const out = mine.filter((s) => !s.listening && s.remote.port === port);
  assert.equal(out.length, 2);
  for (const s of out) assert.equal(s.local.address, '127.0.0.1');
  // The accepted ends: local port is the server's.
  assert.equal(mine.filter((s) => !s.listening && s.local.port === port).length, 2);
});
