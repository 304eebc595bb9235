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
import { FanoutControl } from '../../proxy/fanout.js';
import { featuresOf } from '../../proxy/features.js';
import type { EdgeNode, ProxyDriver, ProxyStatus } from '../../proxy/types.js';
import type { ProjectPaths } from '../../state/paths.js';
import type { Endpoint } from '../types.js';
import { managerCall } from './client.js';
import { DEFAULT_EDGE_CONTROL_PORT } from '../../proxy/builtin/edge.js';
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

  /** Every running replica as a control client through the tunnel; one that is not running refuses. */
  async function fanout(token?: string): Promise<FanoutControl> {
    const network = await s.network();
    const secret = token ?? (await ensureEdgeToken(paths, s.manager, app)).token;
    const replicas = await edgeReplicas(s.manager, app, network);
    const tunnel = await s.tunnel();
    const down = replicas.filter((r) => r.address === undefined);
    if (down.length > 0)
      throw new SwitchyardError(
        'PROXY_FAILED',
        `the edge proxy is not running on ${down.map((r) => `${r.node} (${r.task.state})`).join(', ')}`,
        { hint: '`switchyard status` shows every node; Swarm restarts it, or the node is down' },
      );
    return new FanoutControl(
      await Promise.all(
        replicas.map(async (r) => {
          const at = await tunnel.forward(r.address!, DEFAULT_EDGE_CONTROL_PORT);
          return { name: r.node, control: proxyClient({ ...at, token: secret, name: `edge proxy on ${r.node}` }) };
        }),
      ),
    );
  }

  /**
   * The status of the replicas that answer, with every node meant to run one (those that do not
   * answer say why); undefined when none answers.
   */
  async function reachable(): Promise<ProxyStatus | undefined> {
    const network = await s.network();
    const { token } = await ensureEdgeToken(paths, s.manager, app);
    const replicas = await edgeReplicas(s.manager, app, network);
    const tunnel = await s.tunnel();
    const seen = await Promise.all(
      replicas.map(async (r) => {
        if (r.address === undefined) return { r, why: `its task is ${describeTask(r.task)}` };
        const at = await tunnel.forward(r.address, DEFAULT_EDGE_CONTROL_PORT);
        const c = proxyClient({ ...at, token, name: `edge proxy on ${r.node}` }, { timeoutMs: 2_000 });
        return c.status().then(
          (st) => ({ r, st }),
          (e: unknown) => ({ r, why: errorMessage(e) }),
        );
      }),
    );
    const ok = seen.filter((x): x is { r: (typeof replicas)[number]; st: ProxyStatus } => 'st' in x);
    if (ok.length === 0) return undefined;
    const nodes: EdgeNode[] = seen.map((x) =>
      'st' in x
        ? { node: x.r.node, reachable: true, active: x.st.active, canary: x.st.canary }
        : { node: x.r.node, reachable: false, detail: x.why },
    );
    return { ...ok[0]!.st, nodes };
  }

  return {
    kind: 'swarm-edge',
    async ensure(opts = {}) {
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
      });
      const control = await fanout(token);
      const f = featuresOf(config.proxy);
      await control.configure(config.proxy.routes, {
        features: { ...f, preview: f.preview ? { host: '0.0.0.0', port: f.preview.port } : null },
        ...(config.proxy.kind === 'builtin' ? { maxBodySize: config.proxy.maxBodySize } : {}),
      });
      const status: ProxyStatus = await control.status();
      return { control, started, status };
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
  return replicas.flatMap((r) => (addr.get(r.node) ? [{ host: addr.get(r.node)!, port }] : []));
}
