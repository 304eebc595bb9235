/** The JSON access log parser behind nginx's stats(): exact lines, chunk boundaries, garbage. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addLines, lastValue, MAX_LINE, parseLine, splitLines } from '../../src/proxy/nginx/access-log.ts';
import { bucketIndex, emptyStats } from '../../src/proxy/stats.ts';

const line = (o: Record<string, string>) =>
  JSON.stringify({
    t: '1700000000.250',
    c: 'blue',
    s: '200',
    rt: '0.012',
    us: '200',
    ut: '0.011',
    uh: '0.010',
    ua: '127.0.0.1:5001',
    ...o,
  });

test('a proxied request: colour, status, latency in ms, end time in epoch ms', () => {
  assert.deepEqual(parseLine(line({})), { at: 1_700_000_000_250, colour: 'blue', status: 200, ms: 12, failed: false });
  assert.equal(parseLine(line({ c: 'green', s: '500' }))?.failed, false, 'the backend answered 500');
});

test('failures: nginx answered 502/504 because no upstream header came; a backend 502 is not one', () => {
  assert.equal(parseLine(line({ s: '502', us: '502', uh: '-', ua: '127.0.0.1:1' }))?.failed, true, 'refused');
  assert.equal(parseLine(line({ s: '504', us: '504', uh: '-' }))?.failed, true, 'timed out');
  assert.equal(
    parseLine(line({ s: '502', us: '502', uh: '-', ua: 'sy_app_green' }))?.failed,
    true,
    'no live upstream (server down)',
  );
  assert.equal(parseLine(line({ s: '502', us: '502', uh: '0.001' }))?.failed, false, 'the backend said 502');
  assert.equal(parseLine(line({ s: '502', us: '502, 502', uh: '-, -' }))?.failed, true, 'after a retry');
  assert.equal(parseLine(line({ s: '200', us: '502, 200', uh: '-, 0.002' }))?.failed, false, 'a retry that worked');
  assert.equal(parseLine(line({ s: '502', us: '', uh: '' }))?.failed, true);
});

test('not counted: no upstream (maintenance 503, no route 404), no colour, garbage', () => {
  assert.equal(parseLine(line({ s: '503', us: '', uh: '', ua: '' })), undefined);
  assert.equal(parseLine(line({ ua: '-' })), undefined);
  assert.equal(parseLine(line({ c: '' })), undefined);
  assert.equal(parseLine(line({ c: 'red' })), undefined);
  for (const bad of [
    '',
    'garbage',
    '{',
    '{"t":"1","c":"blue"',
    'null',
    '[]',
    '42',
    '"x"',
    line({ s: 'abc' }),
    line({ rt: '-' }),
    line({ t: 'x' }),
    line({ s: '-1' }),
  ]) {
    assert.equal(parseLine(bad), undefined, bad);
  }
  assert.equal(
    parseLine(JSON.stringify({ t: 1, c: 'blue', s: 200, rt: 0.1, ua: 'x' })),
    undefined,
    'numbers where strings belong',
  );
});

test('lastValue takes the final attempt of a retry list or internal redirect', () => {
  assert.equal(lastValue('502, 200'), '200');
  assert.equal(lastValue('200 : 404'), '404');
  assert.equal(lastValue('-'), '-');
  assert.equal(lastValue(''), '');
});

test('splitLines keeps an unfinished last line (even split inside a UTF-8 character) for the next chunk', () => {
  const text = `${line({})}\n${line({ c: 'green' })}\n{"t":"17`;
  const bytes = Buffer.from(text);
  let pending: Buffer = Buffer.alloc(0);
  const got: string[] = [];
  for (let i = 0; i < bytes.length; i += 7) {
    const r = splitLines(pending, bytes.subarray(i, i + 7));
    got.push(...r.lines);
    pending = r.rest;
  }
  assert.deepEqual(got, [line({}), line({ c: 'green' })]);
  assert.equal(pending.toString(), '{"t":"17');
  const euro = Buffer.from('€\n');
  const a = splitLines(Buffer.alloc(0), euro.subarray(0, 1));
  assert.deepEqual(a.lines, []);
  assert.deepEqual(splitLines(a.rest, euro.subarray(1)).lines, ['€']);
  // The rest is a copy: reusing the chunk's memory must not change it.
  const chunk = Buffer.from('{"t"');
  const r = splitLines(Buffer.alloc(0), chunk);
  chunk.fill(0);
  assert.equal(r.rest.toString(), '{"t"');
  assert.equal(
    splitLines(Buffer.alloc(0), Buffer.alloc(MAX_LINE + 1, 0x61)).rest.length,
    0,
    'an endless line is dropped',
  );
});

test('addLines counts only the window [since, until], skipping garbage and truncated lines', () => {
  const s = emptyStats(true);
  const lines = [
    line({ t: '1699999999.999' }), // before counting started (flushed late by a worker)
    line({}),
    'not json',
    line({ s: '500' }).slice(0, 30), // truncated
    line({ c: 'green', s: '500', rt: '1.5' }),
    line({ c: 'green', s: '502', uh: '-' }),
    line({ t: '1700000005.001' }), // after it stopped
  ];
  assert.equal(addLines(s, lines, 1_700_000_000_000, 1_700_000_005_000), 3);
  assert.deepEqual([s.colours.blue.requests, s.colours.blue.errors, s.colours.blue.failures], [1, 0, 0]);
  assert.deepEqual([s.colours.green.requests, s.colours.green.errors, s.colours.green.failures], [2, 2, 1]);
  assert.equal(s.colours.green.latency[bucketIndex(1500)], 1);
  assert.equal(s.colours.blue.latency[bucketIndex(12)], 1);
});
