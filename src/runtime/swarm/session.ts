/**
 * What one command shares on a swarm: the manager and builder clients, this build's edge image
 * (built and pushed once), the project's overlay network, and the tunnel into it (opened on first
 * use, one per command; tunnel.ts). The runtime's health endpoints and the edge proxies' control
 * calls all go through the same tunnel.
 */
import type Docker from 'dockerode';
import type { Config } from '../../config/schema.js';
import { DEFAULT_EDGE_BASE, ensureEdgeImage } from './edge-image.js';
import { ensureOverlay } from './network.js';
import { openTunnel, type Tunnel } from './tunnel.js';

/** What the swarm runtime is made with (createSwarmRuntime), shared by everything of one command. */
export interface SwarmSessionOptions {
  /** A client of a manager node's engine (services, tasks and networks are made there). */
  manager: Docker;
  /** The engine on this machine, where images are built and pushed from. */
  builder: Docker;
  /** `host:port` of the registry the nodes pull from (and the builder pushes to). */
  registry: string;
  /** Placement constraints for every colour service, as `docker service create --constraint` takes them. */
  constraints?: string[];
  /** The edge image's base: an image with Node.js >= 20 on the builder (default DEFAULT_EDGE_BASE). */
  edgeBase?: string;
  /** Where the edge proxy runs (default: every node). */
  edgeConstraints?: string[];
}

export class SwarmSession {
  private image: Promise<string> | undefined;
  private net: Promise<string> | undefined;
  private tunnelP: Promise<Tunnel> | undefined;

  constructor(
    readonly config: Config,
    readonly opts: SwarmSessionOptions,
  ) {}

  get manager(): Docker {
    return this.opts.manager;
  }

  /** Retried on the next call when it failed (a registry that came back). */
  private once<T>(get: () => Promise<T> | undefined, set: (p: Promise<T> | undefined) => void, make: () => Promise<T>) {
    const have = get();
    if (have) return have;
    const p = make();
    set(p);
    p.catch(() => set(undefined));
    return p;
  }

  edgeImage(signal?: AbortSignal): Promise<string> {
    return this.once(
      () => this.image,
      (p) => (this.image = p),
      () =>
        ensureEdgeImage(this.opts.builder, {
          app: this.config.app,
          registry: this.opts.registry,
          base: this.opts.edgeBase ?? DEFAULT_EDGE_BASE,
          nginx: this.config.proxy.kind === 'nginx',
          ...(signal ? { signal } : {}),
        }),
    );
  }

  network(): Promise<string> {
    return this.once(
      () => this.net,
      (p) => (this.net = p),
      () => ensureOverlay(this.opts.manager, this.config.app),
    );
  }

  tunnel(): Promise<Tunnel> {
    return this.once(
      () => this.tunnelP,
      (p) => (this.tunnelP = p),
      async () =>
        openTunnel(this.opts.manager, {
          app: this.config.app,
          image: await this.edgeImage(),
          network: await this.network(),
        }),
    );
  }

  /** Closes the tunnel when one was opened. */
  async close(): Promise<void> {
    const t = this.tunnelP;
    this.tunnelP = undefined;
    if (t) await (await t.catch(() => undefined))?.close();
  }
}
