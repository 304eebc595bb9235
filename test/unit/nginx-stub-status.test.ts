/**
 * parseStubStatus (src/proxy/nginx/stub-status.ts): nginx's stub_status page as nginx writes it
 * (every line ends with a space), and anything else refused with an error rather than read as zeros.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStubStatus } from '../../src/proxy/nginx/stub-status.ts';

/** What nginx 1.22 sends, byte for byte (ngx_http_stub_status_module.c). */
const PAGE =
  'Active connections: 2 \n' +
  'server accepts handled requests\n' +
  ' 16 15 31 \n' +
  'Reading: 0 Writing: 1 Waiting: 1 \n';

test('parses the page nginx writes', () => {
  assert.deepEqual(parseStubStatus(PAGE), {
    active: 2,
    accepts: 16,
    handled: 15,
    requests: 31,
    reading: 0,
    writing: 1,
    waiting: 1,
  });
});

test('tolerates CRLF line ends, no trailing spaces and no final newline; large counts stay exact', () => {
  const crlf = PAGE.replace(/\n/g, '\r\n');
  assert.equal(parseStubStatus(crlf).requests, 31);
  const bare = 'Active connections: 1\nserver accepts handled requests\n 1 1 1\nReading: 0 Writing: 1 Waiting: 0';
  assert.deepEqual(parseStubStatus(bare), {
    active: 1,
    accepts: 1,
    handled: 1,
    requests: 1,
    reading: 0,
    writing: 1,
    waiting: 0,
  });
  const big = PAGE.replace(' 16 15 31 ', ' 9007199254740991 9007199254740991 9007199254740991 ');
  assert.equal(parseStubStatus(big).requests, Number.MAX_SAFE_INTEGER);
});

const malformed: [string, string][] = [
  ['empty', ''],
  ['an HTML error page', '<html><head><title>404 Not Found</title></head></html>\n'],
  ['a truncated page', PAGE.slice(0, 60)],
  ['a count missing', PAGE.replace(' 16 15 31 ', ' 16 15 ')],
  ['a negative count', PAGE.replace('Reading: 0', 'Reading: -1')],
  ['a count that is not a number', PAGE.replace('Waiting: 1', 'Waiting: x')],
  ['a fraction', PAGE.replace('Active connections: 2', 'Active connections: 2.5')],
  ['the header line changed', PAGE.replace('accepts handled requests', 'accepts requests handled')],
  ['text after the page', `${PAGE}Extra: 1\n`],
  ['text before the page', `HTTP/1.1 200 OK\n\n${PAGE}`],
  ['a count past 2^53', PAGE.replace(' 16 15 31 ', ' 16 15 9007199254740993 ')],
];

for (const [name, text] of malformed) {
  test(`refuses a malformed page: ${name}`, () => {
    assert.throws(() => parseStubStatus(text), /stub_status page/);
  });
}
