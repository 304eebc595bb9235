/**
 * Header rewriting for proxied requests and responses. Works on Node's raw header arrays
 * ([name, value, name, value, ...]) so no header object is built per request: this is on the
 * hot path and object building was a visible share of the profile.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus the ones undici refuses or we set ourselves. */
const REQUEST_DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Node answers "Expect: 100-continue" itself before the body is read; undici rejects it.
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

const RESPONSE_DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-switchyard-env',
]);

/** Names listed in a Connection header are hop-by-hop too (besides close/keep-alive). */
function connectionTokens(value: string): Set<string> | undefined {
  let set: Set<string> | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive') continue;
    (set ??= new Set()).add(t);
  }
  return set;
}

export interface ForwardedInfo {
  remoteAddress: string | undefined;
  proto: 'http' | 'https';
}

/**
 * Request headers for the backend: hop-by-hop removed, X-Forwarded-* set. The Host header is
 * passed through unchanged so virtual-host aware apps keep working.
 */
export function backendRequestHeaders(raw: string[], info: ForwardedInfo): string[] {
  const out: string[] = [];
  let xff: string | undefined;
  let host: string | undefined;
  let extra: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower === 'connection') extra = connectionTokens(raw[i + 1]!);
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
    else if (lower === 'host') host = value;
    if (REQUEST_DROP.has(lower) || (extra !== undefined && extra.has(lower))) continue;
    out.push(name, value);
  }
  const addr = info.remoteAddress ?? 'unknown';
  out.push('x-forwarded-for', xff === undefined ? addr : `${xff}, ${addr}`, 'x-forwarded-proto', info.proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  return out;
}

/** Response headers for the client, from undici's raw Buffer pairs, with X-Switchyard-Env added. */
export function clientResponseHeaders(raw: Buffer[], colour: string): string[] {
  const out: string[] = [];
  let extra: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Only a 10-byte name can be "connection": avoids decoding every name twice.
    if (name.length === 10 && name.toString('latin1').toLowerCase() === 'connection') {
      extra = connectionTokens(raw[i + 1]!.toString('latin1'));
    }
  }
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const lower = name.toLowerCase();
    if (RESPONSE_DROP.has(lower) || (extra !== undefined && extra.has(lower))) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  out.push('X-Switchyard-Env', colour);
  return out;
}

/** Headers worth passing to the backend on a WebSocket handshake (the ws client sets its own). */
const WS_DROP = new Set([
  ...REQUEST_DROP,
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'sec-websocket-accept',
  'host',
]);

export function backendUpgradeHeaders(raw: string[], info: ForwardedInfo): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of pairs(backendRequestHeaders(raw, info))) {
    const lower = name.toLowerCase();
    if (WS_DROP.has(lower) && !lower.startsWith('x-forwarded-')) continue;
    out[lower] = out[lower] === undefined ? value : `${out[lower]}, ${value}`;
  }
  return out;
}

function* pairs(flat: string[]): Generator<[string, string]> {
  for (let i = 0; i < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!];
}
