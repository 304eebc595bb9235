/**
 * The config rule for `proxy.metrics` (listed in rules.ts): Prometheus metrics are served by the
 * built-in proxy's daemon only, on a port of their own. (Services' ports against it: portsDistinct.)
 */
import type { Problem } from './format-issues.js';
import type { Rule } from './rule.js';

export const metricsFits: Rule = (c) => {
  const m = c.proxy.metrics;
  if (m === undefined) return [];
  if (c.proxy.kind === 'nginx')
    return [
      {
        path: 'proxy.metrics',
        message:
          'only the built-in proxy serves Prometheus metrics: nginx open source has no per-colour figures ' +
          'without a reload per request (its stub_status counts connections for all colours together, and ' +
          "the live watch's counting access log is on only while a deploy watches); see the Metrics section " +
          'of docs/traffic.md for what nginx offers, or use kind: builtin',
      },
    ];
  if (c.runtime === 'swarm')
    return [
      {
        path: 'proxy.metrics',
        message:
          'not served by the swarm edge proxy yet (one proxy per edge node, each with its own figures); ' +
          'remove proxy.metrics with runtime: swarm',
      },
    ];
  const out: Problem[] = [];
  const { port } = m.listen;
  if (port === c.proxy.listen.http)
    out.push({
      path: 'proxy.metrics.listen.port',
      message: 'same as listen.http; the metrics listener needs its own port',
      got: port,
    });
  else if (port === c.proxy.listen.preview)
    out.push({
      path: 'proxy.metrics.listen.port',
      message: 'same as listen.preview; the metrics listener needs its own port',
      got: port,
    });
  return out;
};
