/** Hides secrets (I8) in anything printed, logged or written to history. */

export const REDACTED = '***';

/**
 * Returns a function replacing every occurrence of each secret with `***`. Longest first, so a
 * secret that contains another is hidden whole rather than leaving its tail visible.
 */
export function makeRedactor(secrets: string[]): (text: string) => string {
  const list = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  const escaped = list.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // One alternation: longer alternatives come first, and the regex engine tries them in order.
  const re = new RegExp(escaped.join('|'), 'g');
  return (text) => text.replace(re, REDACTED);
}
