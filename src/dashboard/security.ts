/**
 * The dashboard's access rules, as pure functions: the action token (generated, compared in
 * constant time), the Host and Origin checks that refuse cross-site and DNS-rebinding requests,
 * and the rule that a bind beyond loopback needs a token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SwitchyardError } from '../errors.js';

/** 32 random bytes, base64url: what `dashboard` prints at start when no --token was given. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether an Authorization header carries `Bearer <expected>`. Both sides are hashed first, so the
 * comparison takes the same time whatever the length or the first differing byte.
 */
export function tokenMatches(expected: string, authorization: string | undefined): boolean {
  if (!expected || typeof authorization !== 'string') return false;
  const m = /^Bearer +(\S+) *$/i.exec(authorization);
  const given = m?.[1] ?? '';
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::' || host === '[::]';

/** Refuses (USAGE, exit 2) a bind beyond loopback without a token: anyone on the network could act. */
export function checkBind(host: string, token: string | undefined): void {
  if (!isLoopbackHost(host) && !token)
    throw new SwitchyardError('USAGE', `dashboard: ${host} is not a loopback address and no token was given`, {
      hint:
        'give a token (--token, SWITCHYARD_DASHBOARD_TOKEN or dashboard.token) to listen beyond 127.0.0.1, ' +
        'or listen on 127.0.0.1 (drop --host / dashboard.listen.host)',
    });
}

export const hostInUrl = (host: string): string => (host.includes(':') && !host.startsWith('[') ? `[${host}]` : host);

/**
 * The Host headers the dashboard answers: its own address and port (and `localhost` on loopback).
 * Undefined for a wildcard bind (0.0.0.0, ::), where every address of the machine is its own.
 */
export function ownHosts(bindHost: string, port: number): Set<string> | undefined {
  if (isWildcard(bindHost)) return undefined;
  const hosts = new Set([`${hostInUrl(bindHost)}:${port}`.toLowerCase()]);
  if (isLoopbackHost(bindHost)) for (const h of ['127.0.0.1', 'localhost', '[::1]']) hosts.add(`${h}:${port}`);
  return hosts;
}

/** A request's Host is one of the dashboard's own (refuses DNS rebinding: evil.example resolving to 127.0.0.1). */
export function hostAllowed(host: string | undefined, own: Set<string> | undefined): boolean {
  if (!host) return false;
  return own === undefined || own.has(host.toLowerCase());
}

/** An action's Origin must be the page's own: `http://<the Host it was sent to>`, and that Host one of ours. */
export function originAllowed(origin: string | undefined, host: string | undefined, own: Set<string> | undefined) {
  if (!origin || !host || !hostAllowed(host, own)) return false;
  return origin.toLowerCase() === `http://${host.toLowerCase()}`;
}
