/**
 * How the nginx drain tells streams from requests (src/proxy/nginx/drain-count.ts), on sockets as
 * /proc shows them: by the connection's source address, and for an old-generation worker by what
 * it still holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countDrain, STREAM_BIND, type WorkerSockets } from '../../src/proxy/nginx/drain-count.ts';
import type { TcpSocket } from '../../src/proxy/nginx/procfs.ts';

const LISTEN = 8080;
const BLUE = 5001;
const GREEN = 5002;
const listen: TcpSocket = { local: { address: '127.0.0.1', port: LISTEN }, remote: { port: 0 }, listening: true };
const client = (port: number): TcpSocket => ({
  local: { address: '127.0.0.1', port: LISTEN },
  remote: { address: '127.0.0.1', port },
  listening: false,
});
const upstream = (from: string, localPort: number, to: number): TcpSocket => ({
  local: { address: from, port: localPort },
  remote: { address: '127.0.0.1', port: to },
  listening: false,
});
const worker = (sockets: TcpSocket[], shuttingDown = false): WorkerSockets => ({
  shuttingDown,
  sockets: [listen, ...sockets],
});

test('a connection from 127.0.0.1 is a request (or an idle pooled one); from the stream addresses, a stream', () => {
  const c = countDrain(
    [
      worker([
        client(40001),
        upstream('127.0.0.1', 40100, BLUE),
        client(40002),
        upstream(STREAM_BIND.sse, 40101, BLUE),
        client(40003),
        upstream(STREAM_BIND.websocket, 40102, BLUE),
        upstream(STREAM_BIND.sse, 40103, GREEN), // another colour's stream: not counted for blue
        upstream('127.0.0.1', 40104, GREEN),
      ]),
    ],
    [{ port: BLUE }],
  );
  assert.deepEqual(c, { requests: 1, sse: 1, websockets: 1, oldBusy: false });
});

test('an old-generation worker holding only streams (one client connection each) is not busy', () => {
  const onlyStreams = worker([client(40001), upstream(STREAM_BIND.sse, 40101, BLUE)], true);
  assert.deepEqual(countDrain([onlyStreams], [{ port: BLUE }]), { requests: 0, sse: 1, websockets: 0, oldBusy: false });
  // An ordinary upstream connection, to any port (its config may have had other ports for the colour).
  const withRequest = worker([client(40001), upstream('127.0.0.1', 40100, 6001)], true);
  assert.equal(countDrain([withRequest], [{ port: BLUE }]).oldBusy, true);
  // A client connection more than it has streams: a request not yet sent upstream, or still being answered.
  const extraClient = worker([client(40001), client(40002), upstream(STREAM_BIND.websocket, 40101, BLUE)], true);
  assert.equal(countDrain([extraClient], [{ port: BLUE }]).oldBusy, true);
  // The same sockets in a current worker: never "old busy".
  assert.equal(countDrain([{ ...withRequest, shuttingDown: false }], [{ port: BLUE }]).oldBusy, false);
});

test('on a swarm (upstreams by address and port) only that address counts', () => {
  const w = worker([
    upstream('10.0.1.9', 40100, 5000),
    { ...upstream('10.0.1.9', 40101, 5000), remote: { address: '10.0.1.7', port: 5000 } },
  ]);
  const c = countDrain([w], [{ address: '127.0.0.1', port: 5000 }]);
  assert.equal(c.requests, 1);
});
