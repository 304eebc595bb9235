/**
 * The test SSE client (test/helpers/sse-client.ts): its parser against the HTML standard's rules
 * (fields, comments, multi-line data, every kind of line end, however the text is cut into chunks)
 * and its EventSource behaviour against a tiny local server: reconnecting after `retry:` with
 * Last-Event-ID after a clean end or a cut, giving up on a non-event-stream answer, close().
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { openSse, SseParser, type ParsedEvent } from '../helpers/sse-client.ts';

const parseAll = (chunks: string[]) => {
  const p = new SseParser();
  const out: ParsedEvent[] = [];
  for (const c of chunks) out.push(...p.push(c));
  return { events: out, retry: p.retry, lastEventId: p.lastEventId };
};

const STREAM =
  '\ufeff: a comment, ignored\n' +
  'retry: 300\n\n' +
  'data: {"colour":"blue","n":0}\n\n' +
  'data:no space\r\n\r\n' +
  'event: tick\rdata: one\rdata:  two\rid: 7\r\r' +
  'data\n\n' +
  'id: 8\n\n' + // an event with no data is not dispatched, but its id counts
  'retry: soon\n' + // not digits: ignored
  'unknown: field\n' +
  'data: last\n\n' +
  'data: never dispatched: the stream ended before its blank line\n';

const EXPECTED: ParsedEvent[] = [
  { type: 'message', data: '{"colour":"blue","n":0}', lastEventId: '' },
  { type: 'message', data: 'no space', lastEventId: '' },
  { type: 'tick', data: 'one\n two', lastEventId: '7' },
  { type: 'message', data: '', lastEventId: '7' },
  { type: 'message', data: 'last', lastEventId: '8' },
];

describe('SseParser', () => {
  it('parses fields, comments, multi-line data and LF, CR LF and CR line ends', () => {
    const r = parseAll([STREAM]);
    assert.deepEqual(r.events, EXPECTED);
    assert.equal(r.retry, 300);
    assert.equal(r.lastEventId, '8');
  });

  it('gives the same events however the text is cut into chunks (a CR LF split included)', () => {
    assert.deepEqual(parseAll(['data: a\r', '\n\r', '\n']).events, [{ type: 'message', data: 'a', lastEventId: '' }]);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 12 }), (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), STREAM.length];
        const chunks = at.slice(1).map((end, i) => STREAM.slice(at[i], end));
        const r = parseAll(chunks);
        assert.deepEqual(r.events, EXPECTED);
        assert.equal(r.retry, 300);
      }),
      { numRuns: 300 },
    );
  });
});

describe('openSse', () => {
  let server: http.Server;
  let base: string;
  /** What the server did per request: the Last-Event-ID it was sent. */
  const seen: Array<{ path: string; lastEventId: string | undefined }> = [];
  let cutCount = 0;

  before(async () => {
    server = http.createServer((req, res) => {
      const last = req.headers['last-event-id'];
      seen.push({ path: req.url ?? '', lastEventId: typeof last === 'string' ? last : undefined });
      const stream = (status = 200) =>
        res.writeHead(status, { 'content-type': 'text/event-stream', 'x-switchyard-env': 'blue' });
      if (req.url === '/ends') {
        // Two events, then a clean end: the client must come back after 50 ms with Last-Event-ID.
        stream();
        res.write('retry: 50\n\n');
        const n = Number(last ?? 0);
        res.write(`id: ${n + 1}\ndata: {"n":${n + 1}}\n\n`);
        setTimeout(() => res.end(`id: ${n + 2}\ndata: {"n":${n + 2}}\n\n`), 20);
      } else if (req.url === '/cut') {
        // The first connection is cut mid-stream (no chunked terminator); the next ones stay open.
        stream();
        res.write('retry: 40\n\ndata: first\n\n');
        if (cutCount++ === 0) setTimeout(() => res.socket?.destroy(), 20);
      } else if (req.url === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<p>not a stream</p>');
      } else if (req.url === '/500') {
        stream(500);
        res.end();
      } else {
        stream();
        res.write(': open\n\n');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('records events with their JSON and reconnects after retry: with Last-Event-ID after a clean end', async () => {
    const sse = openSse(`${base}/ends`);
    try {
      const fifth = await sse.waitFor((e) => (e.json as { n: number } | undefined)?.n === 5, 5_000);
      assert.equal(fifth.connection, 2);
      assert.deepEqual(
        sse.events.slice(0, 5).map((e) => [e.json, e.lastEventId, e.connection]),
        [
          [{ n: 1 }, '1', 0],
          [{ n: 2 }, '2', 0],
          [{ n: 3 }, '3', 1],
          [{ n: 4 }, '4', 1],
          [{ n: 5 }, '5', 2],
        ],
      );
      const [c0, c1] = sse.connections;
      assert.equal(c0?.outcome, 'ended');
      assert.equal(c0?.colour, 'blue');
      assert.equal(c0?.events, 2);
      assert.equal(sse.retryMs, 50);
      // The second connection started no sooner than the retry delay after the first ended.
      assert.ok(c1!.startedAt - c0!.closedAt! >= 45, JSON.stringify(sse.connections));
      assert.deepEqual(
        seen
          .filter((s) => s.path === '/ends')
          .slice(0, 3)
          .map((s) => s.lastEventId),
        [undefined, '2', '4'],
      );
      assert.ok(sse.events.every((e, i) => i === 0 || e.at >= sse.events[i - 1]!.at));
    } finally {
      sse.close();
    }
  });

  it('records a connection cut mid-stream as an error and reconnects', async () => {
    const sse = openSse(`${base}/cut`);
    try {
      await sse.waitFor((e) => e.connection === 1, 5_000);
      assert.equal(sse.connections[0]?.outcome, 'error');
      assert.ok(sse.connections[0]?.error, 'says how it failed');
      assert.equal(sse.connections[1]?.outcome, undefined, 'the second one is open');
      assert.equal(sse.state, 'open');
    } finally {
      sse.close();
    }
    assert.equal(sse.connections[1]?.outcome, 'closed');
    assert.equal(sse.state, 'closed');
  });

  it('gives up, as a browser does, when the answer is not a 200 event stream', async () => {
    for (const [p, why] of [
      ['/html', /HTTP 200 text\/html/],
      ['/500', /HTTP 500/],
    ] as const) {
      const sse = openSse(`${base}${p}`, { retryMs: 10 });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(sse.connections.length, 1, `${p}: no reconnect`);
      assert.equal(sse.connections[0]?.outcome, 'failed');
      assert.match(sse.connections[0]?.error ?? '', why);
      assert.equal(sse.state, 'closed');
      sse.close();
    }
  });

  it('records a refused connection as an error and keeps trying until close()', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const sse = openSse(`http://127.0.0.1:${port}/x`, { retryMs: 20 });
    await new Promise((r) => setTimeout(r, 200));
    sse.close();
    const n = sse.connections.length;
    assert.ok(n >= 3, `${n} attempts`);
    assert.ok(
      sse.connections.slice(0, -1).every((c) => c.outcome === 'error' && c.error === 'ECONNREFUSED'),
      JSON.stringify(sse.connections),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sse.connections.length, n, 'no attempt after close()');
  });

  it('waitFor rejects after its timeout, naming what it saw', async () => {
    const sse = openSse(`${base}/open`);
    try {
      await assert.rejects(
        sse.waitFor(() => false, 100),
        /no matching event within 100 ms/,
      );
      assert.equal(sse.connections[0]?.outcome, undefined);
    } finally {
      sse.close();
    }
  });

  it('refuses a URL that is not loopback http', () => {
    assert.throws(() => openSse('http://example.com/events'), /loopback/);
    assert.throws(() => openSse('https://127.0.0.1/events'), /loopback/);
  });
});
