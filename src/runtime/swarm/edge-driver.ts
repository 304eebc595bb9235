/**
 * The proxy on a swarm (docs/swarm.md): the built-in proxy as the global edge service, one replica
 * per edge node, driven as one ProxyDriver. ensure() makes what is missing (token and secret, the
 * edge image, the service) and waits for a replica on every node; control calls reach every
 * replica through the overlay tunnel, all or nothing for routing changes (FanoutControl). The
 * public entries are the nodes' addresses on the published port.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.js';
import { errorMessage, SwitchyardError } from '../../errors.js';
import { proxyClient } from '../../proxy/client.js';
import { FanoutControl, type Replica } from '../../proxy/fanout.js';
import { featuresOf } from '../../proxy/features.js';
import type { EdgeNode, ProxyDriver, ProxyStatus } from '../../proxy/types.js';
import type { ProjectPaths } from '../../state/paths.js';
import type { Endpoint } from '../types.js';
import { managerCall } from './client.js';
import { DEFAULT_EDGE_CONTROL_PORT, type NginxEdge } from '../../proxy/edge-settings.js';
import { swarmBackends } from './endpoints.js';
import {
  edgeReplicas,
  edgeServiceExists,
  ensureEdgeService,
  ensureEdgeToken,
  overlaySubnet,
  removeEdge,
} from './edge-service.js';
import type { SwarmSession } from './session.js';
import { describeTask } from './status.js';

/** Docker's embedded DNS server, inside every container on a user-defined or overlay network. */
const DOCKER_DNS = '127.0.0.11';

/**
 * proxy.kind nginx: nginx's config as on one machine, but listening on every interface of the
 * node, and each service's tasks by name per colour (nginx resolves them itself, nginx/render.ts).
 */
function nginxEdge(config: Config): NginxEdge | undefined {
  const p = config.proxy;
  if (p.kind !== 'nginx') return undefined;
  const [blue, green] = [swarmBackends(config, 'blue'), swarmBackends(config, 'green')];
  const at = (b: Endpoint[] | undefined) => `${b![0]!.host}:${b![0]!.port}`;
  const targets = Object.fromEntries(
    Object.keys(config.services).map((svc) => [svc, { blue: at(blue[svc]), green: at(green[svc]) }]),
  );
  return { proxy: { ...p, listen: { ...p.listen, host: '0.0.0.0' } }, resolve: { resolver: DOCKER_DNS, targets } };
}

/** What a replica without saved state starts from: the config's routes and features, every interface. */
function initState(config: Config, hold: string | undefined) {
  const f = featuresOf(config.proxy);
  return {
    listen: { host: '0.0.0.0', port: config.proxy.listen.http },
    routes: config.proxy.routes,
    features: { ...f, preview: f.preview ? { host: '0.0.0.0', port: f.preview.port } : null },
    ...(config.proxy.kind === 'builtin' ? { maxBodySize: config.proxy.maxBodySize } : {}),
    ...(hold ? { maintenance: { message: hold, since: new Date().toISOString() } } : {}),
  };
}

export function swarmEdgeDriver(paths: ProjectPaths, s: SwarmSession): ProxyDriver {
  const { config } = s;
  const app = config.app;

  /** How long a replica gets to answer the probe before it counts as not reached. */
  const PROBE_MS = 3_000;

  /**
   * Every node meant to run a replica, asked for its status through the tunnel: the replicas that
   * answered (as control clients), and the nodes that did not, with why.
   */
  async function probe(token: string): Promise<{ ok: { replica: Replica; status: ProxyStatus }[]; nodes: EdgeNode[] }> {
    const network = await s.network();
    const replicas = await edgeReplicas(s.manager, app, network);
    const tunnel = await s.tunnel();
    const seen = await Promise.all(
      replicas.map(async (r) => {
        if (r.address === undefined) return { node: r.node, why: r.down ?? `its task is ${describeTask(r.task)}` };
        const at = await tunnel.forward(r.address, DEFAULT_EDGE_CONTROL_PORT);
        const control = proxyClient({ ...at, token, name: `edge proxy on ${r.node}` });
        const quick = proxyClient({ ...at, token, name: `edge proxy on ${r.node}` }, { timeoutMs: PROBE_MS });
        return quick.status().then(
          (status) => ({ node: r.node, replica: { name: r.node, control }, status }),
          (e: unknown) => ({ node: r.node, why: errorMessage(e) }),
        );
      }),
    );
    return {
      ok: seen.flatMap((x) => ('status' in x ? [{ replica: x.replica, status: x.status }] : [])),
      nodes: seen.map((x) =>
        'status' in x
          ? { node: x.node, reachable: true, active: x.status.active, canary: x.status.canary }
          : { node: x.node, reachable: false, detail: x.why },
      ),
    };
  }

  /** The replicas that answer, with every node; undefined when none answers. */
  async function reachable(): Promise<ProxyStatus | undefined> {
    const { token } = await ensureEdgeToken(paths, s.manager, app);
    const { ok, nodes } = await probe(token);
    if (ok.length === 0) return undefined;
    return { ...(await new FanoutControl(ok.map((x) => x.replica)).status()), nodes };
  }

  return {
    kind: 'swarm-edge',
    async ensure(opts = {}) {
      const nginx = nginxEdge(config);
      const network = await s.network();
      const { token, secretId } = await ensureEdgeToken(paths, s.manager, app);
      const ports = [config.proxy.listen.http, ...(config.proxy.listen.preview ? [config.proxy.listen.preview] : [])];
      const started = await ensureEdgeService(s.manager, {
        app,
        image: await s.edgeImage(),
        network,
        subnet: await overlaySubnet(s.manager, network),
        controlPort: DEFAULT_EDGE_CONTROL_PORT,
        init: initState(config, opts.hold),
        ports,
        secretId,
        constraints: s.opts.edgeConstraints ?? [],
        epoch: randomBytes(8).toString('hex'),
        ...(nginx ? { nginx } : {}),
      });
      const { ok, nodes } = await probe(token);
      const missed = nodes.filter((n) => !n.reachable);
      const list = missed.map((n) => `${n.node} (${n.detail ?? 'no answer'})`).join(', ');
      if (missed.length > 0 && !opts.skipUnreachable)
        throw new SwitchyardError('PROXY_FAILED', `the edge proxy cannot be reached on ${list}: nothing was changed`, {
          hint:
            '`switchyard status` shows every node; bring the node back (Swarm restarts its proxy), or ' +
            '`switchyard switch <colour> --force` to switch the nodes that answer',
        });
      const notes = missed.map(
        (n) =>
          `the edge proxy on ${n.node} was not reached (${n.detail ?? 'no answer'}): left as it was (--force); ` +
          'the next command that reaches it brings it in line',
      );
      const control = new FanoutControl(ok.map((x) => x.replica));
      notes.push(...(await control.reconcile(ok.map((x) => x.status))));
      const f = featuresOf(config.proxy);
      await control.configure(config.proxy.routes, {
        features: { ...f, preview: f.preview ? { host: '0.0.0.0', port: f.preview.port } : null },
        ...(config.proxy.kind === 'builtin' ? { maxBodySize: config.proxy.maxBodySize } : {}),
      });
      const status: ProxyStatus = { ...(await control.status()), nodes };
      return { control, started, status, ...(notes.length > 0 ? { notes } : {}) };
    },
    async alive() {
      try {
        if (!(await edgeServiceExists(s.manager, app))) return undefined;
        return await reachable();
      } catch {
        return undefined;
      }
    },
    stop: () => removeEdge(s.manager, app, paths),
    entries: () => edgeEntries(s, config.proxy.listen.http),
  };
}

/** The public entry on every node that runs an edge replica: the node's address, the published port. */
export async function edgeEntries(s: SwarmSession, port: number): Promise<Endpoint[]> {
  const replicas = await edgeReplicas(s.manager, s.config.app, await s.network());
  const nodes = (await managerCall(s.manager, 'list nodes', () => s.manager.listNodes())) as {
    Description?: { Hostname?: string };
    Status?: { Addr?: string };
  }[];
  const addr = new Map(nodes.map((n) => [n.Description?.Hostname ?? '', n.Status?.Addr ?? '']));
  // Only nodes whose replica runs: one on a node that is down was left out of the switch (--force).
  return replicas.flatMap((r) => (r.address && addr.get(r.node) ? [{ host: addr.get(r.node)!, port }] : []));
}
