/**
 * A config rule for the nginx proxy (listed in rules.ts): the preview options must be ones nginx
 * can express. (The TLS files it names are checked with the other files, in files.ts.)
 */
import net from 'node:net';
import type { Problem } from './format-issues.js';
import type { Rule } from './rule.js';

/**
 * nginx matches a request header only through $http_<name> (letters, digits, "-"; it drops headers
 * with "_" unless told otherwise), and its listen needs an address or a host name: caught as a
 * config error here rather than when rendering.
 */
export const nginxPreviewFits: Rule = (c) => {
  if (c.proxy.kind !== 'nginx') return [];
  const out: Problem[] = [];
  const { header, host } = c.proxy.preview;
  if (header !== undefined && !/^[A-Za-z0-9-]{1,256}$/.test(header)) {
    out.push({
      path: 'proxy.preview.header',
      message: 'with nginx the preview header may only have letters, digits and "-" (nginx ignores headers with "_")',
      got: header,
    });
  }
  if (net.isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$/.test(host)) {
    out.push({ path: 'proxy.preview.host', message: 'expected an IP address or a host name', got: host });
  }
  return out;
};
