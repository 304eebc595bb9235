/**
 * The edge proxy's Swarm service, as data (docs/swarm.md): `<app>_edge`, global (one replica per
 * edge node, or per node that meets swarm.edge.constraints), running this switchyard build's image
 * (`edge-proxy`: the built-in proxy, or nginx with proxy.kind nginx), on the project's overlay
 * network. Its public ports are published in host mode on each node, never through the routing
 * mesh (whose IPVS drops requests while tasks change). Its state is a volume per node, its control
 * token a Swarm secret; its control port is not published.
 */
import type Docker from 'dockerode';
import type { ProxySnapshot } from '../../proxy/builtin/snapshot.js';
import type { NginxEdge } from '../../proxy/edge-settings.js';
import { LABEL } from '../docker/index.js';

export const edgeServiceName = (app: string): string => `${app}_edge`;
export const edgeSecretName = (app: string): string => `${app}_edge_token`;
export const edgeVolumeName = (app: string): string => `${app}_edge_state`;
export const EDGE_TOKEN_PATH = '/run/secrets/switchyard_edge_token';
export const EDGE_STATE_DIR = '/state';
/** The service's label that says which proxy its replicas run (`builtin` or `nginx`). */
export const EDGE_KIND_LABEL = 'switchyard.edge-kind';

export interface EdgeServiceInput {
  app: string;
  /** This build's edge image, pinned by digest. */
  image: string;
  network: string;
  /** The overlay's subnet: the control API listens on the replica's address inside it only. */
  subnet: string;
  controlPort: number;
  /** Where a replica without saved state starts (no colour; listen on every interface). */
  init: Pick<ProxySnapshot, 'listen' | 'routes' | 'features' | 'maxBodySize' | 'maintenance'>;
  /** proxy.kind nginx: nginx runs in each replica, with this config and these task names. */
  nginx?: NginxEdge;
  /** Host ports to publish on each node (the public port, and the preview port when set). */
  ports: number[];
  secretId: string;
  constraints: string[];
  /**
   * New for every service created: a replica keeps its state per epoch, so one restarted by Swarm
   * serves what it served, and a service made again after `down` starts clean on every node.
   */
  epoch: string;
}

/**
 * nginx on the edge opens a connection to a task per request (no keep-alive pool to names it
 * resolves itself, nginx/render.ts). Each closed one waits 60 s in TIME_WAIT, so with the default
 * 28k local ports a replica ran out at about 470 new connections a second per task, and throughput
 * collapsed (measured: 30,114 sockets in TIME_WAIT, 2,700 then 301 req/s). Reusing TIME_WAIT
 * ports for new outgoing connections (safe with TCP timestamps) and a wider port range keep it
 * steady (2,490 req/s in two runs back to back). Both are per network namespace: the replica's own.
 */
export const NGINX_EDGE_SYSCTLS = {
  'net.ipv4.tcp_tw_reuse': '1',
  'net.ipv4.ip_local_port_range': '1024 65000',
};

export function edgeServiceSpec(i: EdgeServiceInput): Docker.CreateServiceOptions {
  if (!/@sha256:[0-9a-f]{64}$/.test(i.image))
    throw new Error(`the swarm runs images pinned by digest, not ${JSON.stringify(i.image)}`);
  const labels = { [LABEL.app]: i.app, [LABEL.role]: 'edge', [EDGE_KIND_LABEL]: i.nginx ? 'nginx' : 'builtin' };
  const env = {
    SWITCHYARD_EDGE_KIND: i.nginx ? 'nginx' : 'builtin',
    ...(i.nginx ? { SWITCHYARD_EDGE_NGINX: JSON.stringify(i.nginx) } : {}),
    SWITCHYARD_EDGE_INIT: JSON.stringify(i.init),
    SWITCHYARD_EDGE_CONTROL_NET: i.subnet,
    SWITCHYARD_EDGE_CONTROL_PORT: String(i.controlPort),
    SWITCHYARD_EDGE_TOKEN_FILE: EDGE_TOKEN_PATH,
    SWITCHYARD_EDGE_STATE: EDGE_STATE_DIR,
    SWITCHYARD_EDGE_EPOCH: i.epoch,
  };
  return {
    Name: edgeServiceName(i.app),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: i.image,
        Args: ['edge-proxy'],
        Labels: labels,
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        // Node as PID 1 would not reap; tini-like init from the engine, and a graceful stop.
        Init: true,
        ...(i.nginx ? { Sysctls: NGINX_EDGE_SYSCTLS } : {}),
        StopGracePeriod: 15e9,
        Mounts: [{ Type: 'volume', Source: edgeVolumeName(i.app), Target: EDGE_STATE_DIR }],
        Secrets: [
          {
            SecretID: i.secretId,
            SecretName: edgeSecretName(i.app),
            File: { Name: EDGE_TOKEN_PATH.split('/').pop()!, UID: '0', GID: '0', Mode: 0o400 },
          },
        ],
      } as Docker.ContainerSpec,
      RestartPolicy: { Condition: 'any', Delay: 1e9 },
      Placement: { Constraints: [...i.constraints] },
      Networks: [{ Target: i.network }],
    },
    Mode: { Global: {} },
    // A host port is held by one task per node: the old replica stops before the new one starts.
    UpdateConfig: { Parallelism: 1, Order: 'stop-first', FailureAction: 'pause' },
    EndpointSpec: {
      Mode: 'dnsrr',
      Ports: i.ports.map((p) => ({ Protocol: 'tcp', TargetPort: p, PublishedPort: p, PublishMode: 'host' })),
    },
  };
}
