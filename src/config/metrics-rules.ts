/**
 * The config rule for `proxy.metrics` (listed in rules.ts): a listener of its own, served by the
 * built-in proxy's daemon (Prometheus metrics at /metrics) or by nginx on one machine (its
 * stub_status page at /stub_status, mode host or container: the container shares the host's
 * network, so nginx binds the port itself and nothing is published). Not by the swarm edge.
 * (Services' ports against it: portsDistinct.)
 */
import type { Problem } from './format-issues.js';
import type { Rule } from './rule.js';

export const metricsFits: Rule = (c) => {
  const m = c.proxy.metrics;
  if (m === undefined) return [];
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
  const clash = (setting: string) =>
    out.push({
      path: 'proxy.metrics.listen.port',
      message: `same as ${setting}; the metrics listener needs its own port`,
      got: port,
    });
  if (port === c.proxy.listen.http) clash('listen.http');
  else if (c.proxy.kind === 'nginx' && port === c.proxy.listen.https) clash('listen.https');
  else if (port === c.proxy.listen.preview) clash('listen.preview');
  return out;
};
