/**
 * Canary stickiness: a client's key (its cookie or its address) hashes to a bucket 0..99, and the
 * client goes to the canary iff bucket < percent. The bucket never changes, so a client in the
 * split at 10% is still in it at 50%. Also the small, never-throwing cookie reader both the
 * canary and the preview matcher use.
 */
import { randomUUID } from 'node:crypto';

/** FNV-1a 32-bit over the UTF-16 code units, then a murmur3 finaliser so every bit is mixed. */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key's bucket, 0..99. */
export function bucketOf(key: string): number {
  return hash32(key) % 100;
}

/** Whether a client with this key goes to the canary at `percent` (0..99). */
export function inCanary(key: string, percent: number): boolean {
  return bucketOf(key) < percent;
}

/** A fresh sticky id for a client that has no cookie yet. */
export function newStickyId(): string {
  return randomUUID();
}

export function stickyCookieHeader(name: string, id: string): string {
  return `${name}=${id}; Path=/; HttpOnly; SameSite=Lax`;
}

/**
 * The value of cookie `name` in one Cookie header ("a=1; b=2"), or undefined. Tolerates spaces,
 * empty pairs, pairs without "=", and quoted values; never throws and never decodes.
 */
export function cookieIn(header: string, name: string): string | undefined {
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}

/** Cookie `name` from Node's raw header array (several Cookie headers allowed); the first non-empty value wins. */
export function cookieFromRaw(raw: string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length !== 6 || n.toLowerCase() !== 'cookie') continue;
    const v = cookieIn(raw[i + 1]!, name);
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

export interface StickyChoice {
  toCanary: boolean;
  /** Set-Cookie pair for a client that had no sticky cookie yet (cookie mode only). */
  setCookie: string[] | undefined;
}

/**
 * Where one request goes during a split. Cookie mode: the client's cookie is its key, or a new
 * random id (sent back as the cookie) for a client without one. Address mode: the peer address.
 */
export function chooseSticky(
  raw: string[],
  remoteAddress: string | undefined,
  mode: 'cookie' | 'address',
  cookieName: string,
  percent: number,
): StickyChoice {
  if (mode === 'address') return { toCanary: inCanary(remoteAddress ?? '', percent), setCookie: undefined };
  const have = cookieFromRaw(raw, cookieName);
  if (have !== undefined) return { toCanary: inCanary(have, percent), setCookie: undefined };
  const id = newStickyId();
  return { toCanary: inCanary(id, percent), setCookie: ['Set-Cookie', stickyCookieHeader(cookieName, id)] };
}

/** Every value of header `lower` (a lower-case name) in Node's raw header array. */
export function headerValuesFromRaw(raw: string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === lower.length && n.toLowerCase() === lower) out.push(raw[i + 1]!);
  }
  return out;
}
