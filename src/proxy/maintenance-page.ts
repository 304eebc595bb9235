/** The page both proxies answer with (503) while maintenance mode is on. */
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
    '<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.5rem}</style>',
    '</head><body>',
    '<h1>Down for maintenance</h1>',
    `<p>${m}</p>`,
    '</body></html>',
    '',
  ].join('\n');
}
