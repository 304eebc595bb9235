/**
 * The built-in proxy as a swarm edge proxy (docs/swarm.md): one replica per edge node, in a
 * container of a global service, publishing its port on the node in host mode. What differs from
 * the daemon of one machine (daemon.ts):
 * - its state lives in a per-node volume (SWITCHYARD_EDGE_STATE), so a replica that Swarm restarts
 *   on the same node serves what it served before; a fresh node starts from SWITCHYARD_EDGE_INIT
 *   (listen address, routes, features; no colour) and answers 503 until it is switched;
 * - its backends are given by name (`tasks.<app>_<service>_<colour>`) and resolved again every
 *   second (BackendResolver), so tasks that Swarm starts, moves or replaces are followed; the state
 *   keeps the names, and a restart resolves them before it serves;
 * - its control API listens on TCP on the node's overlay address only (the one inside
 *   SWITCHYARD_EDGE_CONTROL_NET), never on a public interface, and answers only calls that carry
 *   the token of the Swarm secret at SWITCHYARD_EDGE_TOKEN_FILE.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Colour } from '../../config/schema.js';
import { forgetOtherEpochs, lookupTasks, serveEdgeControl, type EdgeSettings } from '../edge-settings.js';
import type { Backends, ProxyControl } from '../types.js';
import { BackendResolver, type Resolve } from './dns-backends.js';
import { ProxyServer } from './server.js';
import { loadSnapshot, saveSnapshot, type ProxySnapshot } from './snapshot.js';

/** The state file of one epoch (the edge service's life, edge-spec.ts): `proxy-<epoch>.json`. */
export const edgeStateFile = (epoch: string): string => `proxy-${epoch}.json`;

/**
 * The proxy with named backends: each colour's names go to a resolver, and the server gets the
 * addresses. What is saved keeps the names (persist swaps them back in).
 */
class NamedBackends {
  readonly named: Partial<Record<Colour, Backends>> = {};
  private readonly resolvers: Partial<Record<Colour, BackendResolver>> = {};
  server: ProxyServer | undefined;

  constructor(private readonly resolve: Resolve) {}

  resolver(colour: Colour): BackendResolver {
    this.resolvers[colour] ??= new BackendResolver(this.resolve, (expanded) => {
      // A refresh found other tasks: the server follows (a failure keeps the last good set).
      this.server?.setBackends(colour, expanded).catch(() => undefined);
    });
    return this.resolvers[colour]!;
  }

  async expand(colour: Colour, named: Backends): Promise<Backends> {
    this.named[colour] = named;
    const r = this.resolver(colour);
    const expanded = await r.set(named);
    r.start();
    return expanded;
  }

  /** The state to save: the server's, with the names instead of the addresses they gave. */
  saved(snap: ProxySnapshot): ProxySnapshot {
    return { ...snap, backends: { ...snap.backends, ...this.named } };
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.resolvers).map((r) => r?.stop()));
  }
}

export interface EdgeOptions {
  resolve?: Resolve;
  signal?: AbortSignal;
  onReady?: (a: { public: { host: string; port: number }; control: { host: string; port: number } }) => void;
  /** The control address, instead of the one found in controlNet (tests on loopback). */
  controlHost?: string;
}

export async function runEdgeProxy(s: EdgeSettings, opts: EdgeOptions = {}): Promise<void> {
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} edge-proxy ${m}\n`);
  const file = path.join(s.stateDir, edgeStateFile(s.epoch));
  await fs.mkdir(s.stateDir, { recursive: true, mode: 0o700 });
  await forgetOtherEpochs(s.stateDir, path.basename(file));
  const saved = (await loadSnapshot(file)) ?? s.init;
  const named = new NamedBackends(opts.resolve ?? lookupTasks);
  // Names resolved before the first request: a restarted replica serves at once.
  const backends: Partial<Record<Colour, Backends>> = {};
  for (const [colour, b] of Object.entries(saved.backends) as [Colour, Backends][])
    backends[colour] = await named.expand(colour, b);
  const server = await ProxyServer.start(
    { ...saved, backends },
    { persist: (snap) => saveSnapshot(file, named.saved(snap)) },
  );
  named.server = server;
  const setBackends = async (colour: Colour, b: Backends): Promise<void> => {
    const before = named.named[colour];
    const expanded = await named.expand(colour, b);
    try {
      await server.setBackends(colour, expanded);
    } catch (e) {
      if (before) await named.expand(colour, before);
      throw e;
    }
  };
  try {
    await serveEdgeControl(s, withBackends(server, setBackends), {
      ...opts,
      log,
      ready: (control) => {
        log(
          `listening on ${server.address.host}:${server.address.port}, active ${saved.active ?? 'none'}` +
            `, control ${control.host}:${control.port}`,
        );
        opts.onReady?.({ public: server.address, control });
      },
    });
  } finally {
    await named.stop();
    await server.close(10_000);
    log('stopped');
  }
}

/** The server's control API, with backends given by name. */
function withBackends(server: ProxyServer, setBackends: ProxyControl['setBackends']): ProxyControl {
  return {
    status: () => server.status(),
    configure: (routes, o) => server.configure(routes, o),
    setBackends,
    switchTo: (c) => server.switchTo(c),
    setWeight: (c, p) => server.setWeight(c, p),
    setMaintenance: (m) => server.setMaintenance(m),
    setWatch: (on) => server.setWatch(on),
    stats: () => server.stats(),
    drain: (c, ms, o) => server.drain(c, ms, o),
  };
}
