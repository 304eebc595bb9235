/**
 * What a swarm edge replica is told by its container's environment (the global service sets it,
 * runtime/swarm/edge-spec.ts; docs/swarm.md), for either proxy it runs: the built-in one
 * (builtin/edge.ts) or nginx (nginx/edge.ts). Also what both do alike: serve the control API on
 * their overlay address until told to stop, look up a colour's tasks by name, and forget the
 * state of earlier epochs.
 */
import dns from 'node:dns/promises';
import fs from 'node:fs/promises';
import net from 'node:net';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { NginxProxyConfig } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { startTcpControlServer } from './builtin/control.js';
import { checkSnapshot, type ProxySnapshot } from './builtin/snapshot.js';
import type { ResolvedUpstreams } from './nginx/render.js';
import type { ProxyControl } from './types.js';

export const DEFAULT_EDGE_CONTROL_PORT = 9901;

/** nginx on the edge: its config (listen on every interface), and the tasks' names per service and colour. */
export interface NginxEdge {
  proxy: NginxProxyConfig;
  resolve: ResolvedUpstreams;
}

export interface EdgeSettings {
  /** Which proxy the replica runs (SWITCHYARD_EDGE_KIND; proxy.kind of the config). */
  kind: 'builtin' | 'nginx';
  stateDir: string;
  /** The edge service's epoch: state of another epoch (a service since removed) is not this one's. */
  epoch: string;
  /** Where a replica without saved state starts: listen, routes, features, maintenance; no colour. */
  init: ProxySnapshot;
  token: string;
  controlPort: number;
  /** The overlay's subnet: the control API binds the one local address inside it. */
  controlNet: string;
  /** kind nginx: SWITCHYARD_EDGE_NGINX. */
  nginx?: NginxEdge;
}

function bad(message: string, hint: string): SwitchyardError {
  return new SwitchyardError('PROXY_FAILED', `edge proxy: ${message}`, { hint });
}

const HINT = 'the edge proxy runs as the swarm service switchyard creates; start it through `switchyard init`';

/** SWITCHYARD_EDGE_NGINX: written by this same build (the image is pinned to it), so a shape check is enough. */
function nginxEdge(raw: string | undefined): NginxEdge {
  let v: Partial<NginxEdge>;
  try {
    v = JSON.parse(raw ?? '') as Partial<NginxEdge>;
  } catch (e) {
    throw bad(`SWITCHYARD_EDGE_NGINX is not JSON (${errorMessage(e)})`, HINT);
  }
  const p = v.proxy;
  if (p?.kind !== 'nginx' || !Number.isInteger(p.listen?.http) || !Array.isArray(p.routes))
    throw bad('SWITCHYARD_EDGE_NGINX has no nginx proxy config', HINT);
  if (typeof v.resolve?.resolver !== 'string' || typeof v.resolve.targets !== 'object')
    throw bad('SWITCHYARD_EDGE_NGINX has no resolver and targets', HINT);
  return { proxy: p, resolve: v.resolve };
}

/** The settings from the container's environment. */
export async function edgeSettings(env: NodeJS.ProcessEnv): Promise<EdgeSettings> {
  let init: ProxySnapshot;
  try {
    init = checkSnapshot({ backends: {}, active: null, ...JSON.parse(env.SWITCHYARD_EDGE_INIT ?? '') });
  } catch (e) {
    throw bad(`SWITCHYARD_EDGE_INIT is not a proxy state (${errorMessage(e)})`, HINT);
  }
  const kind = env.SWITCHYARD_EDGE_KIND ?? 'builtin';
  if (kind !== 'builtin' && kind !== 'nginx')
    throw bad(`SWITCHYARD_EDGE_KIND is neither builtin nor nginx: ${kind}`, HINT);
  const tokenFile = env.SWITCHYARD_EDGE_TOKEN_FILE ?? '';
  const token = (await fs.readFile(tokenFile, 'utf8').catch(() => '')).trim();
  if (token.length < 16) throw bad(`no control token in SWITCHYARD_EDGE_TOKEN_FILE (${tokenFile || 'unset'})`, HINT);
  const controlPort = Number(env.SWITCHYARD_EDGE_CONTROL_PORT ?? DEFAULT_EDGE_CONTROL_PORT);
  if (!Number.isInteger(controlPort) || controlPort < 1 || controlPort > 65535)
    throw bad(`SWITCHYARD_EDGE_CONTROL_PORT is not a port: ${env.SWITCHYARD_EDGE_CONTROL_PORT}`, HINT);
  const controlNet = env.SWITCHYARD_EDGE_CONTROL_NET ?? '';
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(controlNet))
    throw bad(`SWITCHYARD_EDGE_CONTROL_NET is not an IPv4 subnet: ${controlNet || 'unset'}`, HINT);
  const epoch = env.SWITCHYARD_EDGE_EPOCH ?? '';
  if (!/^[a-z0-9]{1,64}$/.test(epoch)) throw bad(`SWITCHYARD_EDGE_EPOCH is not an epoch id: ${epoch || 'unset'}`, HINT);
  return {
    kind,
    stateDir: env.SWITCHYARD_EDGE_STATE ?? '/state',
    epoch,
    init,
    token,
    controlPort,
    controlNet,
    ...(kind === 'nginx' ? { nginx: nginxEdge(env.SWITCHYARD_EDGE_NGINX) } : {}),
  };
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
export const lookupTasks = (host: string): Promise<string[]> => resolver.resolve4(host);

/**
 * Removes what replicas of other epochs kept in the state folder (edge services since removed,
 * of either kind: `proxy-<epoch>.json`, `nginx-<epoch>/`): never served again. Keeps `keep`.
 */
export async function forgetOtherEpochs(stateDir: string, keep: string): Promise<void> {
  for (const f of await fs.readdir(stateDir))
    if (/^(proxy-.*\.json|nginx-[a-z0-9]+)$/.test(f) && f !== keep)
      await fs.rm(path.join(stateDir, f), { recursive: true, force: true });
}

export interface EdgeControlOptions {
  signal?: AbortSignal;
  /** The control address, instead of the one found in controlNet (tests on loopback). */
  controlHost?: string;
  log: (line: string) => void;
  /** Once the control API listens: its address (the replica is then ready). */
  ready: (control: { host: string; port: number }) => void;
  /** Another reason to stop (nginx's agent: nginx died); returns its cleanup. */
  watch?: (stop: (why: string) => void) => () => void;
}

/**
 * What every edge replica does around its proxy: serve `control` on the overlay address with the
 * token until SIGTERM/SIGINT, the signal, a shutdown call or `watch` stops it; then close the
 * control API. Returns why it stopped; the caller then stops its proxy.
 */
export async function serveEdgeControl(s: EdgeSettings, control: ProxyControl, o: EdgeControlOptions): Promise<string> {
  let stop!: (why: string) => void;
  const stopped = new Promise<string>((r) => (stop = r));
  const onSignal = (sig: NodeJS.Signals) => stop(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  o.signal?.addEventListener('abort', () => stop('abort'), { once: true });
  const unwatch = o.watch?.(stop);
  let ctl: http.Server | undefined;
  try {
    const host = o.controlHost ?? addressIn(s.controlNet);
    ctl = await startTcpControlServer({ host, port: s.controlPort }, s.token, control, () => stop('shutdown call'));
    o.ready({ host, port: (ctl.address() as net.AddressInfo).port });
    if (o.signal?.aborted) stop('abort');
    const why = await stopped;
    o.log(`stopping (${why})`);
    return why;
  } finally {
    unwatch?.();
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    ctl?.closeAllConnections();
    await new Promise<void>((r) => (ctl ? ctl.close(() => r()) : r()));
  }
}
