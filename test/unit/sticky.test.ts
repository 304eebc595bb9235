import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  bucketOf,
  chooseSticky,
  cookieFromRaw,
  cookieIn,
  hash32,
  headerValuesFromRaw,
  inCanary,
} from '../../src/proxy/builtin/sticky.js';

function spread(keys: string[]): number[] {
  const counts = new Array<number>(100).fill(0);
  for (const k of keys) counts[bucketOf(k)]!++;
  return counts;
}

/**
 * UUID-shaped ids as a cookie would carry them, the same on every run: drawn with randomUUID(), the
 * fullest of 100 buckets lands past 140 in about one run in 300 (a bucket holds 100 +- 10, and
 * 100 buckets make a 4-sigma excursion likely enough to fail CI now and then).
 */
function uuids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const h = createHash('sha256').update(`sticky-test-${i}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  });
}

function assertEven(counts: number[], what: string): void {
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  assert.ok(min >= 60 && max <= 140, `${what}: buckets range ${min}..${max}, expected 100±40`);
}

describe('sticky buckets', () => {
  it('is a stable 32-bit hash with buckets 0..99', () => {
    assert.equal(hash32('abc'), hash32('abc'));
    assert.notEqual(hash32('abc'), hash32('abd'));
    for (const k of ['', 'a', 'x'.repeat(1000), '::ffff:127.0.0.1', 'é✓']) {
      const h = hash32(k);
      assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
      const b = bucketOf(k);
      assert.ok(Number.isInteger(b) && b >= 0 && b < 100);
    }
  });

  it('spreads 10,000 random-looking ids evenly (each bucket 100±40)', () => {
    assertEven(spread(uuids(10_000)), 'UUID-shaped ids');
  });

  it('spreads sequential and address-like keys evenly too', () => {
    assertEven(spread(Array.from({ length: 10_000 }, (_, i) => `client-${i}`)), 'client-N');
    assertEven(
      spread(Array.from({ length: 10_000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`)),
      'IPv4 addresses',
    );
  });

  it('keeps a client in the split as the percentage grows', () => {
    const keys = Array.from({ length: 2_000 }, () => randomUUID());
    const at = (p: number) => new Set(keys.filter((k) => inCanary(k, p)));
    const steps = [1, 5, 10, 25, 50, 75, 99];
    for (let i = 1; i < steps.length; i++) {
      const small = at(steps[i - 1]!);
      const large = at(steps[i]!);
      for (const k of small) assert.ok(large.has(k), `${k} left the split going from ${steps[i - 1]}% to ${steps[i]}%`);
    }
    assert.equal(at(0).size, 0);
  });
});

describe('cookie parsing', () => {
  it('finds a cookie among several, with or without spaces and quotes', () => {
    assert.equal(cookieIn('a=1; sy_canary=abc; b=2', 'sy_canary'), 'abc');
    assert.equal(cookieIn('a=1;sy_canary=abc;b=2', 'sy_canary'), 'abc');
    assert.equal(cookieIn('  sy_canary =  abc  ', 'sy_canary'), 'abc');
    assert.equal(cookieIn('sy_canary="q v"', 'sy_canary'), 'q v');
    assert.equal(cookieIn('x=a=b=c', 'x'), 'a=b=c');
    assert.equal(cookieIn('sy_canary_old=1; sy_canary=2', 'sy_canary'), '2');
    assert.equal(cookieIn('xsy_canary=1', 'sy_canary'), undefined);
  });

  it('never throws on garbage', () => {
    for (const g of ['', ';', ';;;', '=', '==;=', 'novalue', '%E0%A4%A', '"', 'a="', '\u0000=\u0001', 'sy_canary']) {
      assert.doesNotThrow(() => cookieIn(g, 'sy_canary'));
    }
    assert.equal(cookieIn('sy_canary', 'sy_canary'), undefined);
    assert.equal(cookieIn('sy_canary=', 'sy_canary'), '');
    assert.equal(cookieIn('%E0%A4%A=1; sy_canary=%E0%A4%A', 'sy_canary'), '%E0%A4%A');
  });

  it('reads several Cookie headers from the raw array and skips empty values', () => {
    const raw = ['Host', 'x', 'Cookie', 'a=1; sy_canary=', 'cookie', 'sy_canary=second', 'COOKIE', 'sy_canary=third'];
    assert.equal(cookieFromRaw(raw, 'sy_canary'), 'second');
    assert.equal(cookieFromRaw(['Host', 'x'], 'sy_canary'), undefined);
    assert.deepEqual(headerValuesFromRaw(['X-Preview', '1', 'x-preview', '2', 'X-Other', '3'], 'x-preview'), [
      '1',
      '2',
    ]);
  });
});

describe('chooseSticky', () => {
  it('uses the cookie when present and sets none', () => {
    const id = randomUUID();
    const c = chooseSticky(['Cookie', `sy_canary=${id}`], '127.0.0.1', 'cookie', 'sy_canary', 50);
    assert.equal(c.setCookie, undefined);
    assert.equal(c.toCanary, inCanary(id, 50));
  });

  it('gives a client without a cookie a new id, consistent with its bucket', () => {
    const c = chooseSticky([], '127.0.0.1', 'cookie', 'sy_canary', 30);
    assert.ok(c.setCookie);
    assert.equal(c.setCookie[0], 'Set-Cookie');
    const m = /^sy_canary=([0-9a-f-]{36}); Path=\/; HttpOnly; SameSite=Lax$/.exec(c.setCookie[1]!);
    assert.ok(m, c.setCookie[1]);
    assert.equal(c.toCanary, inCanary(m[1]!, 30));
  });

  it('uses the peer address in address mode, ignoring cookies', () => {
    const a = chooseSticky(['Cookie', 'sy_canary=x'], '10.1.2.3', 'address', 'sy_canary', 40);
    assert.equal(a.setCookie, undefined);
    assert.equal(a.toCanary, inCanary('10.1.2.3', 40));
  });
});
