/**
 * Config rules for `runtime: swarm` (listed in rules.ts; docs/swarm.md): the `swarm:` section goes
 * with that runtime and no other, and what the swarm runtime cannot do yet is refused here, with
 * what to do instead, rather than failing halfway through a deploy. Services are otherwise held to
 * the Docker rules (rules.ts, containerService).
 */
import type { Problem } from './format-issues.js';
import type { Config } from './schema.js';
import type { Rule } from './rule.js';

/** `swarm:` is required by runtime: swarm, and means nothing to the others. */
export const swarmSectionFitsRuntime: Rule = (c) => {
  if (c.runtime === 'swarm' && c.swarm === undefined)
    return [
      {
        path: 'swarm',
        message:
          'required for runtime: swarm: at least the registry the nodes pull from ' +
          '(swarm: { registry: "host:port", manager: "unix:///...|tcp://host:port|ssh://user@host" })',
      },
    ];
  if (c.runtime !== 'swarm' && c.swarm !== undefined)
    return [
      {
        path: 'swarm',
        message: `only used by runtime: swarm (runtime is ${c.runtime}): set runtime: swarm, or remove the section`,
      },
    ];
  return [];
};

/** What the swarm runtime does not do yet; each problem says what to do instead. */
export const swarmNotYet: Rule = (c) => {
  if (c.runtime !== 'swarm') return [];
  const out: Problem[] = [];
  for (const [name, s] of Object.entries(c.shared)) {
    if (s.node === undefined)
      out.push({
        path: `shared.${name}.node`,
        message:
          'required for runtime: swarm: the node the service runs on, with its data (a named volume lives on one ' +
          'node); its hostname as `docker node ls` shows it',
      });
    if (s.ports.length > 0)
      out.push({
        path: `shared.${name}.ports`,
        message:
          'not on swarm: the colours reach it by name on the overlay network; publishing it would expose it on ' +
          'the node',
        got: s.ports,
      });
    const binds = s.volumes.filter((v) => /^[.~/]/.test(v));
    if (binds.length > 0)
      out.push({
        path: `shared.${name}.volumes`,
        message: 'a host path is not on swarm (it would have to exist on the node): use a named volume ("name:/path")',
        got: binds,
      });
  }
  if (c.proxy.kind === 'nginx') out.push(...nginxOnSwarm(c.proxy));
  for (const [name, svc] of Object.entries(c.services))
    if (svc.volumes.length > 0)
      out.push({
        path: `services.${name}.volumes`,
        message:
          'volumes are not yet on swarm: a named volume is per node (each task would get its own, empty one) and ' +
          'a host path would have to exist on every node; keep the data in a database reached by URL',
        got: svc.volumes,
      });
  return out;
};

/**
 * nginx on swarm runs inside the edge service on every edge node (from swarm.edge.base), never on
 * this machine or in a container of its own: `mode: container` means nothing there. TLS would need
 * the certificate on every node (a Swarm secret): not built yet.
 */
function nginxOnSwarm(p: Extract<Config['proxy'], { kind: 'nginx' }>): Problem[] {
  const out: Problem[] = [];
  if (p.mode === 'container')
    out.push({
      path: 'proxy.mode',
      message:
        'on swarm nginx runs inside the edge service on every edge node (its program comes from swarm.edge.base): ' +
        'remove mode and image',
      got: p.mode,
    });
  if (p.listen.https !== undefined || p.tls !== undefined)
    out.push({
      path: p.tls ? 'proxy.tls' : 'proxy.listen.https',
      message:
        'TLS is not yet on swarm (the certificate would have to be on every edge node): terminate TLS in front of ' +
        'the edge nodes (a load balancer), and leave listen.https and tls out',
      got: p.tls ? 'tls' : p.listen.https,
    });
  return out;
}
