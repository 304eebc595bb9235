/**
 * Config rules for the nginx proxy (to be listed in src/config/rules.ts): the TLS files must exist,
 * so a missing certificate is a config error (exit 2) before anything runs, not an `nginx -t`
 * failure halfway through a deploy; and the preview options must be ones nginx can express.
 */
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Problem } from './format-issues.js';
import type { Rule } from './rule.js';

const isFile = (f: string) => {
  try {
    return statSync(f).isFile();
  } catch {
    return false;
  }
};

export const tlsFilesExist: Rule = (c, ctx) => {
  const p = c.proxy as { kind?: unknown; tls?: { cert?: unknown; key?: unknown } } | undefined;
  if (p?.kind !== 'nginx' || !p.tls || typeof p.tls !== 'object') return [];
  const out: Problem[] = [];
  for (const k of ['cert', 'key'] as const) {
    const v = p.tls[k];
    if (typeof v === 'string' && !isFile(path.resolve(ctx.projectDir, v)))
      out.push({ path: `proxy.tls.${k}`, message: 'file not found', got: v });
  }
  return out;
};

/**
 * nginx matches a request header only through $http_<name> (letters, digits, "-"; it drops headers
 * with "_" unless told otherwise), and its listen needs an address or a host name: caught as a
 * config error here rather than when rendering. To be listed in src/config/rules.ts.
 */
export const nginxPreviewFits: Rule = (c) => {
  const p = c.proxy as { kind?: unknown; preview?: { header?: unknown; host?: unknown } } | undefined;
  if (p?.kind !== 'nginx' || !p.preview || typeof p.preview !== 'object') return [];
  const out: Problem[] = [];
  const { header, host } = p.preview;
  if (typeof header === 'string' && !/^[A-Za-z0-9-]{1,256}$/.test(header)) {
    out.push({
      path: 'proxy.preview.header',
      message: 'with nginx the preview header may only have letters, digits and "-" (nginx ignores headers with "_")',
      got: header,
    });
  }
  if (
    typeof host === 'string' &&
    net.isIP(host) === 0 &&
    !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/.test(host)
  ) {
    out.push({ path: 'proxy.preview.host', message: 'expected an IP address or a host name', got: host });
  }
  return out;
};
