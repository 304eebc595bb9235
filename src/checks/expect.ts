/** Compares an HTTP response with an `expect` block; returns what differs (empty = pass). */
import type { Expect } from '../config/schema.js';

export interface ResponseLike {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bodyText: string;
}

const BODY_PREVIEW = 200;

export function preview(text: string, max = BODY_PREVIEW): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}… (${text.length} chars)` : flat;
}

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

function header(res: ResponseLike, name: string): string | undefined {
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(res.headers))
    if (k.toLowerCase() === want && v !== undefined) return Array.isArray(v) ? v.join(', ') : v;
  return undefined;
}

/** "*" means present and not null / "" / [] / {}. */
function present(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Every key of `want` must match in `got` (extra keys in `got` are fine); arrays match index by index. */
function subset(want: unknown, got: unknown, at: string, out: string[]): void {
  if (want === '*') {
    if (!present(got)) out.push(`${at}: expected a value, got ${show(got)}`);
  } else if (Array.isArray(want)) {
    if (!Array.isArray(got)) out.push(`${at}: expected a list, got ${show(got)}`);
    else
      want.forEach((w, i) => {
        subset(w, got[i], `${at}[${i}]`, out);
      });
  } else if (want !== null && typeof want === 'object') {
    if (got === null || typeof got !== 'object' || Array.isArray(got))
      out.push(`${at}: expected an object, got ${show(got)}`);
    else for (const [k, w] of Object.entries(want)) subset(w, (got as Record<string, unknown>)[k], `${at}.${k}`, out);
  } else if (want !== got) {
    out.push(`${at}: expected ${show(want)}, got ${show(got)}`);
  }
}

/**
 * Without `status`, any 2xx passes: a check that names only a header or a JSON field still
 * should not pass on a 500 page.
 */
export function matchExpect(expect: Expect, res: ResponseLike): string[] {
  const out: string[] = [];
  const statuses =
    expect.status === undefined ? undefined : Array.isArray(expect.status) ? expect.status : [expect.status];
  if (statuses ? !statuses.includes(res.status) : res.status < 200 || res.status > 299) {
    const want = statuses ? statuses.join(' or ') : '2xx';
    out.push(`status: expected ${want}, got ${res.status}${res.bodyText ? ` (body: ${preview(res.bodyText)})` : ''}`);
  }
  if (expect.contentType !== undefined) {
    const ct = header(res, 'content-type');
    // An empty content-type fails even when the expected one is empty (hence no optional chain).
    if (ct === undefined || ct === '' || !ct.toLowerCase().includes(expect.contentType.toLowerCase()))
      out.push(`content-type: expected "${expect.contentType}", got ${ct === undefined ? 'none' : JSON.stringify(ct)}`);
  }
  for (const [name, want] of Object.entries(expect.headers ?? {})) {
    const got = header(res, name);
    if (got === undefined) out.push(`header ${name}: missing`);
    else if (want !== '*' && got.trim() !== want)
      out.push(`header ${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
  if (expect.bodyContains !== undefined && !res.bodyText.includes(expect.bodyContains))
    out.push(
      `body: expected to contain ${JSON.stringify(expect.bodyContains)}, got ${JSON.stringify(preview(res.bodyText))}`,
    );
  if (expect.json !== undefined) {
    let body: unknown;
    try {
      body = JSON.parse(res.bodyText);
    } catch {
      out.push(`json: expected a JSON body, got ${JSON.stringify(preview(res.bodyText))}`);
      return out;
    }
    subset(expect.json, body, 'json', out);
  }
  return out;
}
