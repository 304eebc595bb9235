/** The page both proxies answer with (503) while maintenance mode is on, and the rule for its message. */
import { SwitchyardError, type ErrorCode } from '../errors.js';

export const MAX_MAINTENANCE_MESSAGE = 2_000;

/**
 * A message for the page: 1..2000 characters, no control characters (C0 including line breaks and
 * tabs, DEL, C1): the page is one paragraph. The CLI checks it (USAGE, exit 2) before any proxy
 * does (PROXY_FAILED), with the same rule, so a message the CLI accepts no proxy refuses.
 */
export function checkMaintenanceMessage(v: unknown, code: ErrorCode = 'PROXY_FAILED'): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_MAINTENANCE_MESSAGE) {
    throw new SwitchyardError(
      code,
      `invalid maintenance message: expected 1-${MAX_MAINTENANCE_MESSAGE} characters` +
        ` (got ${typeof v === 'string' ? v.length : typeof v})`,
    );
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) {
    throw new SwitchyardError(
      code,
      'invalid maintenance message: it must not contain control characters (line breaks, tabs, escapes)',
    );
  }
  return v;
}

export const DEFAULT_MAINTENANCE_MESSAGE = 'This service is down for maintenance. Please try again shortly.';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function maintenancePage(message: string): string {
  const m = escapeHtml(message);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>Down for maintenance</title>',
    '<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}' +
      'h1{font-size:1.5rem}</style>',
    '</head><body>',
    '<h1>Down for maintenance</h1>',
    `<p>${m}</p>`,
    '</body></html>',
    '',
  ].join('\n');
}
