// Compose's variable syntax as compose reads it (for the converter's decisions), and as
// switchyard.yml can hold it (references kept, so secrets stay out of the file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewriteForSwitchyard } from '../../src/compose/rewrite.ts';
import { parseTemplate, resolveParts, TemplateError } from '../../src/compose/template.ts';

const value = (s: string, vars: Record<string, string | undefined>) => resolveParts(parseTemplate(s), vars).value;

test('compose forms: braced, bare, defaults with and without colon, alternatives, $$', () => {
  const vars = { SET: 'x', EMPTY: '' };
  assert.equal(value('${SET}/$SET/$$SET', vars), 'x/x/$SET');
  assert.equal(value('${SET:-d}|${EMPTY:-d}|${UNSET:-d}', vars), 'x|d|d');
  assert.equal(value('${SET-d}|${EMPTY-d}|${UNSET-d}', vars), 'x||d');
  assert.equal(value('${SET:+a}|${EMPTY:+a}|${UNSET:+a}', vars), 'a||');
  assert.equal(value('${SET+a}|${EMPTY+a}|${UNSET+a}', vars), 'a|a|');
  assert.equal(value('${UNSET:-${SET}-${OTHER:-z}}', vars), 'x-z');
});

test('unset variables are empty and reported', () => {
  const r = resolveParts(parseTemplate('a${NOPE}b'), {});
  assert.deepEqual(r, { value: 'ab', unset: ['NOPE'] });
});

test('required variables: :? refuses unset and empty, ? only unset', () => {
  assert.throws(() => value('${P:?give P}', {}), /required variable P is missing a value: give P/);
  assert.throws(() => value('${P:?}', { P: '' }), TemplateError);
  assert.equal(value('${P?}', { P: '' }), '');
  assert.throws(() => value('${P?}', {}), TemplateError);
});

test('malformed references', () => {
  assert.throws(() => parseTemplate('${'), /expected a variable name/);
  assert.throws(() => parseTemplate('${A'), /unexpected/);
  assert.throws(() => parseTemplate('${A:-x'), /missing "}"/);
  assert.throws(() => parseTemplate('cost: $5'), /lone "\$"/);
});

test('rewritten for switchyard: supported forms kept, $NAME braced, ? forms plain', () => {
  const r = (s: string, vars: Record<string, string> = {}) => rewriteForSwitchyard(s, vars);
  assert.deepEqual(r('${A}:${B:-x}:$$:$C'), { text: '${A}:${B:-x}:$$:${C}', notes: [] });
  assert.equal(r('${DB_PASSWORD:?set it}').text, '${DB_PASSWORD}');
  assert.equal(r('${L-info}').text, '${L:-info}');
  assert.equal(r('${L-info}').notes.length, 1);
});

test('forms switchyard lacks: the value now, never a secret-looking one', () => {
  assert.equal(rewriteForSwitchyard('${FLAG:+on}', { FLAG: '1' }).text, 'on');
  assert.equal(rewriteForSwitchyard('${A:-${B}}', { B: 'b$' }).text, 'b$$');
  assert.equal(rewriteForSwitchyard('${API_TOKEN:-${FALLBACK}}', { FALLBACK: 'zzz' }).text, '${API_TOKEN}');
});
