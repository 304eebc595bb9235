/**
 * The built-in reverse proxy: a public HTTP server that sends each request to the active colour's
 * backend for its route. The colour is read once when a request starts, so a switch is atomic:
 * requests already running finish where they started, every later one goes to the new colour.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Colour, Route } from '../../config/schema.js';
import { COLOURS } from '../../config/schema.js';
import { DEFAULT_MAX_BODY_SIZE } from '../../config/proxy-schema.js';
import { SwitchyardError } from '../../errors.js';
import { routeFor, sortRoutes } from '../routing.js';
import type { Backends, DrainResult, ProxyControl, ProxyStatus } from '../types.js';
import { Counters } from './counters.js';
import { forward, plainResponse, type ForwardTarget } from './forward.js';
import { BackendPools, originOf } from './pools.js';
import { checkBackends, checkColour, checkMaxBodySize, checkRoutes, type Listen, type ProxySnapshot } from './snapshot.js';
import { proxyWebSocket, rejectUpgrade } from './websocket.js';

/** Slowloris guard: a client must send its headers within this time. */
export const HEADERS_TIMEOUT_MS = 15_000;
/** A client must finish sending its request (headers + body) within this time. */
export const REQUEST_TIMEOUT_MS = 120_000;
export const CLIENT_KEEPALIVE_MS = 5_000;
/** How often Node checks the two timeouts above; its default (30 s) would make them very loose. */
const CONNECTIONS_CHECK_MS = 2_000;
/** Request line + headers, as nginx's large_client_header_buffers (4 x 8k) allows roughly; more gets 431. */
export const MAX_HEADER_SIZE = 16 * 1024;
export const DRAIN_CLOSE_CODE = 1001;

/** Bounds on what a client may send; tests shorten the timeouts. */
export interface ProxyLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** How often the two timeouts are checked: a slow client is cut off within timeout + this. */
  checkIntervalMs: number;
  maxHeaderSize: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  checkIntervalMs: CONNECTIONS_CHECK_MS,
  maxHeaderSize: MAX_HEADER_SIZE,
};

export interface ProxyServerOptions {
  /** Called with the next state before a change is applied and acknowledged. */
  persist?: (snap: ProxySnapshot) => Promise<void>;
  limits?: Partial<ProxyLimits>;
}

interface ColourTargets {
  http: Map<string, ForwardTarget>;
  ws: Map<string, string>;
}

export class ProxyServer implements ProxyControl {
  readonly counters = new Counters();
  private readonly pools = new BackendPools();
  private readonly server: http.Server;
  private snap: ProxySnapshot;
  private sorted: Route[] = [];
  private active: Colour | null = null;
  /** Bytes; 0 = no limit. From the snapshot (proxy.maxBodySize). */
  private maxBodySize = DEFAULT_MAX_BODY_SIZE;
  private targets: Record<Colour, ColourTargets> = { blue: emptyTargets(), green: emptyTargets() };
  private changes: Promise<unknown> = Promise.resolve();
  private readonly onEnd = (colour: Colour) => this.counters.requestEnded(colour);

  private constructor(snap: ProxySnapshot, private readonly opts: ProxyServerOptions) {
    this.snap = snap;
    this.apply(snap);
    const limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.server = http.createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: CLIENT_KEEPALIVE_MS,
        connectionsCheckingInterval: limits.checkIntervalMs,
        // Set explicitly: NODE_OPTIONS=--insecure-http-parser or --max-http-header-size in the
        // environment the daemon inherits must not loosen the parser (request smuggling, huge headers).
        insecureHTTPParser: false,
        maxHeaderSize: limits.maxHeaderSize,
        requireHostHeader: true,
      },
      (req, res) => this.onRequest(req, res, false),
    );
    // Expect: 100-continue is answered only once the request passed the body size check.
    this.server.on('checkContinue', (req, res) => this.onRequest(req, res, true));
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  /** Starts serving `snap` on its listen address. Fails with PORT_IN_USE naming host:port. */
  static async start(snap: ProxySnapshot, opts: ProxyServerOptions = {}): Promise<ProxyServer> {
    const proxy = new ProxyServer(snap, opts);
    const { host, port } = snap.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        const where = `${host}:${port}`;
        if (err.code === 'EADDRINUSE') {
          reject(new SwitchyardError('PORT_IN_USE', `the proxy cannot listen on ${where}: the port is already in use`, {
            cause: err,
            hint: `stop whatever listens on ${where} or change proxy.listen in switchyard.yml`,
          }));
        } else {
          reject(new SwitchyardError('PROXY_FAILED', `the proxy cannot listen on ${where}: ${err.message}`, { cause: err }));
        }
      };
      proxy.server.once('error', onError);
      proxy.server.listen(port, host, () => {
        proxy.server.off('error', onError);
        resolve();
      });
    });
    return proxy;
  }

  /** The address actually bound (differs from the snapshot when it asked for port 0). */
  get address(): Listen {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  private apply(snap: ProxySnapshot): void {
    const next: Record<Colour, ColourTargets> = { blue: emptyTargets(), green: emptyTargets() };
    for (const colour of COLOURS) {
      for (const [service, endpoint] of Object.entries(snap.backends[colour] ?? {})) {
        const origin = originOf(endpoint);
        next[colour].http.set(service, { colour, origin });
        next[colour].ws.set(service, origin.replace(/^http/, 'ws'));
      }
    }
    const before = this.originsInUse();
    // One synchronous swap: a request sees either the old or the new state, never a mix.
    this.targets = next;
    this.sorted = sortRoutes(snap.routes);
    this.active = snap.active;
    this.maxBodySize = snap.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
    this.snap = snap;
    const now = this.originsInUse();
    this.pools.close([...before].filter((o) => !now.has(o)));
  }

  private originsInUse(colours: readonly Colour[] = COLOURS): Set<string> {
    const out = new Set<string>();
    for (const c of colours) for (const t of this.targets[c].http.values()) out.add(t.origin);
    return out;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean): void {
    const colour = this.active;
    if (colour === null) return plainResponse(res, 503, 'Service Unavailable: no environment is active yet');
    const url = req.url ?? '';
    // Absolute-form ("http://host/x") and "*" targets are for forward proxies, not for us.
    if (url.charCodeAt(0) !== 47 /* / */) return plainResponse(res, 400, 'Bad Request: expected a path starting with "/"', colour);
    const route = routeFor(this.sorted, url);
    if (route === undefined) return plainResponse(res, 404, 'Not Found: no route matches this path', colour);
    const target = this.targets[colour].http.get(route.service);
    if (target === undefined) {
      return plainResponse(res, 503, `Service Unavailable: no backend for service "${route.service}" in ${colour}`, colour);
    }
    this.counters.requestStarted(colour);
    forward(req, res, target, this.pools, 'http', this.onEnd, { maxBodySize: this.maxBodySize, expectContinue });
  }

  private onUpgrade(req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return rejectUpgrade(socket, 400, 'Bad Request: only WebSocket upgrades are supported');
    const colour = this.active;
    if (colour === null) return rejectUpgrade(socket, 503, 'Service Unavailable: no environment is active yet');
    const route = routeFor(this.sorted, req.url ?? '/');
    if (route === undefined) return rejectUpgrade(socket, 404, 'Not Found: no route matches this path', colour);
    const origin = this.targets[colour].ws.get(route.service);
    if (origin === undefined) return rejectUpgrade(socket, 503, `Service Unavailable: no backend for service "${route.service}" in ${colour}`, colour);
    proxyWebSocket(req, socket, head, colour, origin, 'http', this.counters);
  }

  /** Changes run one at a time, and each is persisted before it takes effect. */
  private change(next: (current: ProxySnapshot) => ProxySnapshot): Promise<void> {
    const run = this.changes.then(async () => {
      const snap = next(this.snap);
      await this.opts.persist?.(snap);
      this.apply(snap);
    });
    this.changes = run.catch(() => {});
    return run;
  }

  async status(): Promise<ProxyStatus> {
    const { inFlight, websockets } = this.counters.snapshot();
    const s = this.snap;
    return { pid: process.pid, active: s.active, listen: { ...s.listen }, routes: s.routes, backends: s.backends, inFlight, websockets, maxBodySize: this.maxBodySize };
  }

  async configure(routes: Route[], opts: { maxBodySize?: number } = {}): Promise<void> {
    const checked = checkRoutes(routes);
    const size = opts.maxBodySize === undefined ? undefined : checkMaxBodySize(opts.maxBodySize);
    return this.change((s) => ({ ...s, routes: checked, ...(size === undefined ? {} : { maxBodySize: size }) }));
  }

  setBackends(colour: Colour, backends: Backends): Promise<void> {
    const c = checkColour(colour);
    const b = checkBackends(backends);
    return this.change((s) => ({ ...s, backends: { ...s.backends, [c]: b } }));
  }

  switchTo(colour: Colour): Promise<void> {
    const c = checkColour(colour);
    return this.change((s) => {
      const have = s.backends[c] ?? {};
      const missing = [...new Set(s.routes.map((r) => r.service))].filter((svc) => have[svc] === undefined);
      if (missing.length > 0) {
        throw new SwitchyardError('PROXY_FAILED', `cannot switch to ${c}: no backend for ${missing.map((m) => `"${m}"`).join(', ')}`, {
          hint: `start ${c} first so its backends are known to the proxy`,
        });
      }
      return { ...s, active: c };
    });
  }

  async drain(colour: Colour, timeoutMs: number): Promise<DrainResult> {
    const c = checkColour(colour);
    if (c === this.active) throw new SwitchyardError('PROXY_FAILED', `cannot drain ${c}: it is the active colour`, { hint: 'switch to the other colour first' });
    const t0 = performance.now();
    const idle = await this.counters.waitIdle(c, Math.max(0, Number(timeoutMs) || 0));
    const websocketsClosed = this.counters.closeSockets(c, DRAIN_CLOSE_CODE, 'switchyard: environment drained');
    // The colour's processes can only exit promptly once our idle keep-alive sockets to them are gone.
    const other = this.originsInUse(COLOURS.filter((x) => x !== c));
    this.pools.close([...this.originsInUse([c])].filter((o) => !other.has(o)));
    return { inFlight: this.counters.inFlightOf(c), websocketsClosed, timedOut: !idle, ms: Math.round(performance.now() - t0) };
  }

  /** Stops accepting, lets in-flight requests finish (up to graceMs), then closes everything. */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    for (const c of COLOURS) await this.counters.waitIdle(c, deadline - Date.now());
    for (const c of COLOURS) this.counters.closeSockets(c, DRAIN_CLOSE_CODE, 'switchyard: proxy stopping');
    this.server.closeAllConnections();
    await this.pools.destroyAll();
    await closed;
  }
}

function emptyTargets(): ColourTargets {
  return { http: new Map(), ws: new Map() };
}
