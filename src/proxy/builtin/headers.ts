/**
 * Header rewriting for proxied requests and responses. Works on Node's raw header arrays
 * ([name, value, name, value, ...]) so no header object is built per request: this is on the
 * hot path and object building was a visible share of the profile.
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded in either direction. */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** Requests: hop-by-hop, plus what undici refuses or we set ourselves. */
const REQUEST_DROP = new Set([
  ...HOP_BY_HOP,
  // Node answers "Expect: 100-continue" itself before the body is read; undici rejects it.
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

/** Responses: hop-by-hop, plus our own colour header (a backend must not fake it). */
const RESPONSE_DROP = new Set([...HOP_BY_HOP, 'x-switchyard-env']);

/** Names listed in a Connection header are hop-by-hop too (besides close/keep-alive). */
function connectionTokens(value: string): Set<string> | undefined {
  // Nearly every client and backend sends exactly one of these: skip the split.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close') return undefined;
  }
  let set: Set<string> | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive') continue;
    (set ??= new Set()).add(t);
  }
  return set;
}

function dropNamed(flat: string[], names: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (!names.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  return out;
}

export interface ForwardedInfo {
  remoteAddress: string | undefined;
  proto: 'http' | 'https';
}

export interface BackendRequest {
  headers: string[];
  /** Whether the client announced a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** The announced Content-Length (Node's parser already refused a malformed or repeated one). */
  contentLength: number | undefined;
  /** A Transfer-Encoding body: its size is known only once it has been read. */
  chunked: boolean;
}

/**
 * Request headers for the backend: hop-by-hop removed, X-Forwarded-* set, in one pass over the
 * raw array (reading req.headers would build a header object per request). The Host header is
 * passed through unchanged so virtual-host aware apps keep working.
 */
export function backendRequest(raw: string[], info: ForwardedInfo): BackendRequest {
  let out: string[] = [];
  let xff: string | undefined;
  let host: string | undefined;
  let extra: Set<string> | undefined;
  let hasBody = false;
  let contentLength: number | undefined;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (REQUEST_DROP.has(lower)) {
      if (lower === 'connection') extra = connectionTokens(value);
      else if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      else if (lower === 'transfer-encoding') hasBody = chunked = true;
      continue;
    }
    if (lower === 'host') host = value;
    else if (lower === 'content-length') {
      contentLength = Number(value);
      if (value !== '0') hasBody = true;
    }
    out.push(name, value);
  }
  if (extra !== undefined) out = dropNamed(out, extra);
  const addr = info.remoteAddress ?? 'unknown';
  out.push('x-forwarded-for', xff === undefined ? addr : `${xff}, ${addr}`, 'x-forwarded-proto', info.proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  return { headers: out, hasBody, contentLength, chunked };
}

/** Lengths of the response header names we may drop: most names are never lower-cased. */
const RESPONSE_DROP_LENGTHS = new Set([...RESPONSE_DROP].map((n) => n.length));

/**
 * Response headers for the client, from undici's raw Buffer pairs, with X-Switchyard-Env (and the `added` pairs) added.
 */
export function clientResponseHeaders(raw: Buffer[], colour: string, added?: string[]): string[] {
  let out: string[] = [];
  let extra: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    if (RESPONSE_DROP_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (RESPONSE_DROP.has(lower)) {
        if (lower === 'connection') extra = connectionTokens(raw[i + 1]!.toString('latin1'));
        continue;
      }
    }
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  if (extra !== undefined) out = dropNamed(out, extra);
  out.push('X-Switchyard-Env', colour);
  if (added !== undefined) for (const h of added) out.push(h);
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
  for (const [name, value] of pairs(backendRequest(raw, info).headers)) {
    const lower = name.toLowerCase();
    if (WS_DROP.has(lower) && !lower.startsWith('x-forwarded-')) continue;
    // Repeated headers fold with commas, except Cookie, whose pairs are separated by semicolons.
    out[lower] = out[lower] === undefined ? value : `${out[lower]}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

function* pairs(flat: string[]): Generator<[string, string]> {
  for (let i = 0; i < flat.length; i += 2) yield [flat[i]!, flat[i + 1]!];
}
