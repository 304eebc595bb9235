/**
 * Secrets found in the resolved config itself (I8), beside those from .env files and
 * secret-looking variables: values of secret-looking keys anywhere (a shared database's
 * POSTGRES_PASSWORD, written literally or as a ${VAR:-default}) and the password part of every
 * URL with credentials (postgres://user:PASSWORD@host/db), raw and percent-decoded.
 */
import { SECRET_NAME } from './env.js';

const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s/]+)@/gi;

export function secretsInTree(value: unknown, key = ''): string[] {
  if (typeof value === 'string') {
    const out = SECRET_NAME.test(key) ? [value] : [];
    for (const m of value.matchAll(URL_PASSWORD)) {
      const raw = m[1]!;
      out.push(raw);
      try {
        out.push(decodeURIComponent(raw));
      } catch {
        /* not percent-encoded: the raw form is enough */
      }
    }
    return out;
  }
  if (Array.isArray(value)) return value.flatMap((v) => secretsInTree(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => secretsInTree(v, k));
  return [];
}
