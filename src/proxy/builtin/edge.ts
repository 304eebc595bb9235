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
import dns from 'node:dns/promises';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type http from 'node:http';
import type { Colour } from '../../config/schema.js';
import { errorMessage, SwitchyardError } from '../../errors.js';
import type { Backends, ProxyControl } from '../types.js';
import { startTcpControlServer } from './control.js';
import { BackendResolver, type Resolve } from './dns-backends.js';
import { ProxyServer } from './server.js';
import { checkSnapshot, loadSnapshot, saveSnapshot, type ProxySnapshot } from './snapshot.js';

/** The state file of one epoch (the edge service's life, edge-spec.ts): `proxy-<epoch>.json`. */
export const edgeStateFile = (epoch: string): string => `proxy-${epoch}.json`;
export const DEFAULT_EDGE_CONTROL_PORT = 9901;

export interface EdgeSettings {
  stateDir: string;
  /** The edge service's epoch: state of another epoch (a service since removed) is not this one's. */
  epoch: string;
  /** Where a replica without saved state starts: listen, routes, features; no colour. */
  init: ProxySnapshot;
  token: string;
  controlPort: number;
  /** The overlay's subnet: the control API binds the one local address inside it. */
  controlNet: string;
}

function bad(message: string, hint: string): SwitchyardError {
  return new SwitchyardError('PROXY_FAILED', `edge proxy: ${message}`, { hint });
}

/** The settings from the container's environment (the global service sets them, docs/swarm.md). */
export async function edgeSettings(env: NodeJS.ProcessEnv): Promise<EdgeSettings> {
  const hint = 'the edge proxy runs as the swarm service switchyard creates; start it through `switchyard init`';
  let init: ProxySnapshot;
  try {
    init = checkSnapshot({ backends: {}, active: null, ...JSON.parse(env.SWITCHYARD_EDGE_INIT ?? '') });
  } catch (e) {
    throw bad(`SWITCHYARD_EDGE_INIT is not a proxy state (${errorMessage(e)})`, hint);
  }
  const tokenFile = env.SWITCHYARD_EDGE_TOKEN_FILE ?? '';
  const token = (await fs.readFile(tokenFile, 'utf8').catch(() => '')).trim();
  if (token.length < 16) throw bad(`no control token in SWITCHYARD_EDGE_TOKEN_FILE (${tokenFile || 'unset'})`, hint);
  const controlPort = Number(env.SWITCHYARD_EDGE_CONTROL_PORT ?? DEFAULT_EDGE_CONTROL_PORT);
  if (!Number.isInteger(controlPort) || controlPort < 1 || controlPort > 65535)
    throw bad(`SWITCHYARD_EDGE_CONTROL_PORT is not a port: ${env.SWITCHYARD_EDGE_CONTROL_PORT}`, hint);
  const controlNet = env.SWITCHYARD_EDGE_CONTROL_NET ?? '';
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(controlNet))
    throw bad(`SWITCHYARD_EDGE_CONTROL_NET is not an IPv4 subnet: ${controlNet || 'unset'}`, hint);
  const epoch = env.SWITCHYARD_EDGE_EPOCH ?? '';
  if (!/^[a-z0-9]{1,64}$/.test(epoch)) throw bad(`SWITCHYARD_EDGE_EPOCH is not an epoch id: ${epoch || 'unset'}`, hint);
  return { stateDir: env.SWITCHYARD_EDGE_STATE ?? '/state', epoch, init, token, controlPort, controlNet };
}

/** This container's address inside `cidr` (its overlay address). */
export function addressIn(cidr: string, interfaces = os.networkInterfaces()): string {
  const [base, bits] = cidr.split('/') as [string, string];
  const list = new net.BlockList();
  list.addSubnet(base, Number(bits), 'ipv4');
  for (const addrs of Object.values(interfaces))
    for (const a of addrs ?? []) if (a.family === 'IPv4' && list.check(a.address, 'ipv4')) return a.address;
  throw bad(`no address of this container is inside ${cidr}`, 'the edge proxy must be attached to the overlay');
}

/**
 * A tasks name asked of Docker's DNS on the overlay (127.0.0.11). A name with no task running is
 * forwarded upstream by that server, which may not answer at all on an isolated node: the lookup
 * gives up after a second, so a control call never waits on it (the resolver tries again every second).
 */
const resolver = new dns.Resolver({ timeout: 500, tries: 2 });
const lookupAll: Resolve = (host) => resolver.resolve4(host);

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
  // Other epochs' state is of edge services since removed: never served again.
  for (const f of await fs.readdir(s.stateDir))
    if (/^proxy-.*\.json$/.test(f) && f !== path.basename(file)) await fs.rm(path.join(s.stateDir, f), { force: true });
  const saved = (await loadSnapshot(file)) ?? s.init;
  const named = new NamedBackends(opts.resolve ?? lookupAll);
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
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((r) => (stop = r));
  const host = opts.controlHost ?? addressIn(s.controlNet);
  let ctl: http.Server | undefined;
  const onSignal = (sig: NodeJS.Signals) => stop(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  opts.signal?.addEventListener('abort', () => stop('abort'), { once: true });
  try {
    ctl = await startTcpControlServer({ host, port: s.controlPort }, s.token, withBackends(server, setBackends), () =>
      stop('shutdown call'),
    );
    const c = ctl.address() as net.AddressInfo;
    log(
      `listening on ${server.address.host}:${server.address.port}, active ${saved.active ?? 'none'}` +
        `, control ${host}:${c.port}`,
    );
    opts.onReady?.({ public: server.address, control: { host, port: c.port } });
    if (opts.signal?.aborted) stop('abort');
    log(`stopping (${await stopped})`);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    ctl?.closeAllConnections();
    await new Promise<void>((r) => (ctl ? ctl.close(() => r()) : r()));
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
    drain: (c, ms) => server.drain(c, ms),
  };
}
