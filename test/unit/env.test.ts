import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coerceScalar, interpolate, interpolateTree, parseDotenv } from '../../src/config/env.ts';
import { makeRedactor } from '../../src/config/redact.ts';
import { editDistance, suggest } from '../../src/config/format-issues.ts';

test('dotenv: plain values, comments, blank lines, export prefix and spaces around =', () => {
  const env = parseDotenv(
    ['# a comment', '', 'A=1', 'export B=two', '  C = three  ', 'D=', 'not a line', ' # indented comment'].join('\n'),
  );
  assert.deepEqual(env, { A: '1', B: 'two', C: 'three', D: '' });
});

test('dotenv: quotes', () => {
  const env = parseDotenv(
    [
      `S='single $X \\n kept'`,
      `D="double\\nline \\"q\\" # not a comment"`,
      'B=`back tick`',
      `E=""`,
      `Q="a" # trailing comment`,
    ].join('\n'),
  );
  assert.equal(env.S, 'single $X \\n kept');
  assert.equal(env.D, 'double\nline "q" # not a comment');
  assert.equal(env.B, 'back tick');
  assert.equal(env.E, '');
  assert.equal(env.Q, 'a');
});

test('dotenv: inline comments need a space before #; = and # inside values are kept', () => {
  const env = parseDotenv('URL=postgres://u:p#w@h/db?a=b # the db\nPW=abc#def\nEQ=a=b=c');
  assert.equal(env.URL, 'postgres://u:p#w@h/db?a=b');
  assert.equal(env.PW, 'abc#def');
  assert.equal(env.EQ, 'a=b=c');
});

test('dotenv: CRLF, BOM, multi-line quoted values, later keys win', () => {
  const env = parseDotenv('\uFEFFA=1\r\nKEY="-----BEGIN\nline2\n-----END"\r\nA=2\r\n');
  assert.equal(env.A, '2');
  assert.equal(env.KEY, '-----BEGIN\nline2\n-----END');
});

test('interpolate: ${NAME}, defaults (also for empty), $$ and missing names', () => {
  assert.deepEqual(interpolate('${A}-${B:-bee}', { A: 'a' }), {
    value: 'a-bee',
    used: ['A'],
    missing: [],
    whole: false,
  });
  assert.equal(interpolate('${E:-dflt}', { E: '' }).value, 'dflt');
  assert.equal(interpolate('${E}', { E: '' }).value, '');
  assert.equal(interpolate('cost $$5, $HOME, ${A:-}', {}).value, 'cost $5, $HOME, ');
  assert.equal(interpolate('$${A}', { A: 'x' }).value, '${A}');
  const r = interpolate('${X}/${Y}/${X}', {});
  assert.deepEqual(r.missing, ['X', 'Y', 'X']);
  assert.equal(interpolate('${PORT:-8080}', {}).whole, true);
  assert.equal(interpolate(' ${PORT}', { PORT: '1' }).whole, false);
});

test('coerceScalar only converts exact numbers and booleans', () => {
  assert.equal(coerceScalar('8080'), 8080);
  assert.equal(coerceScalar('-1.5'), -1.5);
  assert.equal(coerceScalar('true'), true);
  assert.equal(coerceScalar('false'), false);
  assert.equal(coerceScalar('0123'), '0123');
  assert.equal(coerceScalar('1e3'), '1e3');
  assert.equal(coerceScalar('True'), 'True');
  assert.equal(coerceScalar(''), '');
});

test('interpolateTree walks values (not keys) and reports each missing variable by path', () => {
  const r = interpolateTree({ a: { '${K}': '${V}', list: ['x', '${N:-3}'] }, n: 5, nil: null }, { V: 'v' });
  assert.deepEqual(r.value, { a: { '${K}': 'v', list: ['x', 3] }, n: 5, nil: null });
  assert.deepEqual(r.problems, []);
  assert.deepEqual([...r.used], ['V']);
  const m = interpolateTree({ services: { api: { env: { DB: 'x${PW}' } } }, list: ['${Q}'] }, {});
  assert.deepEqual(m.problems, [
    { path: 'services.api.env.DB', name: 'PW' },
    { path: 'list.0', name: 'Q' },
  ]);
});

test('redactor: longest secret first, regex characters, repeated occurrences', () => {
  const redact = makeRedactor(['pass', 'password123', 'a.b*c', '']);
  assert.equal(redact('password123 and pass and a.b*c and axbbc, pass'), '*** and *** and *** and axbbc, ***');
  assert.equal(makeRedactor([])('nothing to hide'), 'nothing to hide');
});

test('suggestions use a small edit distance', () => {
  assert.equal(editDistance('comand', 'command'), 1);
  assert.equal(suggest('comand', ['cwd', 'command', 'build']), 'command');
  assert.equal(suggest('Port', ['port', 'env']), 'port');
  assert.equal(suggest('zzzzzz', ['port', 'env']), undefined);
});
