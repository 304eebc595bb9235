/**
 * Config rule for the nginx proxy (to be listed in src/config/rules.ts): the TLS files must exist,
 * so a missing certificate is a config error (exit 2) before anything runs, not an `nginx -t`
 * failure halfway through a deploy.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Problem } from '../../config/format-issues.js';
import type { Rule } from '../../config/rules.js';

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
    if (typeof v === 'string' && !isFile(path.resolve(ctx.projectDir, v))) out.push({ path: `proxy.tls.${k}`, message: 'file not found', got: v });
  }
  return out;
};
