/**
 * A fake proxy (ProxyDriver + ProxyControl) for unit tests only: no daemon, no socket file. Its
 * routing state changes only through the real pure transitions (src/proxy/transitions.ts), so it
 * refuses what the real proxies refuse, in their words. `ensure()` starts a small node:http
 * listener on the configured public port that forwards each request to the active colour's backend
 * for its route (502 without a colour header when there is none), so the engine's verification
 * through the public entry works as with the real proxy. `calls` logs the control calls that took
 * effect (`switchTo green`, `setWeight green 50`, `drain blue`, ...) and the listener's `start`/`stop`.
 * The routing state lives in memory and survives stop/ensure (the real proxy's snapshot), even
 * after `down` deletes .switchyard/proxy.json: a test that inits again after down sees the old colour.
 */
import http from 'node:http';
import { routeFor, sortRoutes } from '../../src/config/routes.ts';
import type { Colour, Config } from '../../src/config/schema.ts';
import { SwitchyardError } from '../../src/errors.ts';
import { featuresOf } from '../../src/proxy/features.ts';
import { emptyStats, record, type TrafficStats } from '../../src/proxy/stats.ts';
import {
  applyCommand,
  checkColour,
  checkPercent,
  type ProxyCommand,
  type Routing,
} from '../../src/proxy/transitions.ts';
import type { ProxyControl, ProxyDriver, ProxyStatus } from '../../src/proxy/types.ts';

export interface MemoryProxy extends ProxyDriver {
  /** Control calls that took effect, in order, and the listener's `start` / `stop`. */
  readonly calls: string[];
  /** The routing state right now (whether or not the listener runs). */
  routing(): Routing;
}

function reply(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(text);
}

export function memoryProxy(config: Config): MemoryProxy {
  const { listen, routes } = config.proxy;
  const features = featuresOf(config.proxy);
  const maxBodySize = config.proxy.kind === 'builtin' ? config.proxy.maxBodySize : undefined;
  const calls: string[] = [];
  // Kept across stop/ensure, as the real proxy keeps its snapshot.
  let routing: Routing = {
    routes: [],
    backends: {},
    active: null,
    canary: null,
    maintenance: null,
    watching: false,
    features,
  };
  let counts: TrafficStats = emptyStats(false);
  let server: http.Server | undefined;

  const apply = (c: ProxyCommand, call: string): void => {
    if (!server) throw new SwitchyardError('PROXY_FAILED', 'the memory proxy is not running');
    routing = applyCommand(routing, c);
    calls.push(call);
  };

  const status = (): ProxyStatus => ({
    pid: process.pid,
    active: routing.active,
    listen: { host: listen.host, port: listen.http },
    routes: routing.routes,
    backends: routing.backends,
    inFlight: { blue: 0, green: 0 },
    websockets: { blue: 0, green: 0 },
    ...(maxBodySize === undefined ? {} : { maxBodySize }),
    canary: routing.canary,
    maintenance: routing.maintenance,
    watching: routing.watching,
    features: routing.features,
  });

  /** Everyone goes to the active colour (a canary split is recorded, not applied to requests). */
  function forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const t0 = performance.now();
    if (routing.maintenance) {
      reply(res, 503, routing.maintenance.message);
      return;
    }
    const colour = routing.active;
    const route = routeFor(sortRoutes(routing.routes), req.url ?? '/');
    const backend = colour && route ? routing.backends[colour]?.[route.service]?.[0] : undefined;
    if (!colour || !backend) {
      reply(res, 502, 'no backend');
      return;
    }
    const count = (s: number, failed: boolean) => {
      if (routing.watching) record(counts.colours[colour], s, performance.now() - t0, failed);
    };
    const up = http.request(
      { host: backend.host, port: backend.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (r) => {
        const { connection: _c, 'keep-alive': _k, 'transfer-encoding': _t, ...headers } = r.headers;
        res.writeHead(r.statusCode ?? 502, headers);
        r.pipe(res);
        r.on('end', () => count(r.statusCode ?? 502, false));
      },
    );
    up.on('error', () => {
      count(502, true);
      reply(res, 502, 'backend unreachable');
    });
    req.pipe(up);
  }

  const control: ProxyControl = {
    async status() {
      return status();
    },
    async configure(rs, opts = {}) {
      apply({ kind: 'configure', routes: rs, ...(opts.features ? { features: opts.features } : {}) }, 'configure');
    },
    async setBackends(colour, backends) {
      apply({ kind: 'set-backends', colour: checkColour(colour), backends }, `setBackends ${colour}`);
    },
    async switchTo(colour) {
      apply({ kind: 'switch', colour: checkColour(colour) }, `switchTo ${colour}`);
    },
    async setWeight(colour, percent) {
      apply(
        { kind: 'weight', colour: checkColour(colour), percent: checkPercent(percent) },
        `setWeight ${colour} ${percent}`,
      );
    },
    async setMaintenance(m) {
      if (m.on) {
        const cmd = { kind: 'maintenance-on' as const, now: new Date().toISOString() };
        apply(m.message === undefined ? cmd : { ...cmd, message: m.message }, 'setMaintenance on');
      } else apply({ kind: 'maintenance-off' }, 'setMaintenance off');
    },
    async setWatch(on) {
      const was = routing.watching;
      apply({ kind: 'watch', on }, `setWatch ${on ? 'on' : 'off'}`);
      if (on && !was) counts = emptyStats(true);
    },
    async stats() {
      return { ...structuredClone(counts), enabled: routing.watching };
    },
    async drain(colour: Colour, _timeoutMs: number) {
      apply({ kind: 'drain', colour: checkColour(colour) }, `drain ${colour}`);
      return { inFlight: 0, websocketsClosed: 0, timedOut: false, ms: 0 };
    },
  };

  return {
    kind: 'memory',
    calls,
    routing: () => routing,
    async ensure() {
      let started = false;
      if (!server) {
        const s = http.createServer(forward);
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(listen.http, listen.host, () => resolve());
        });
        server = s;
        started = true;
        calls.push('start');
      }
      // As the real drivers do: the config's routes and features are applied on every ensure.
      routing = applyCommand(routing, { kind: 'configure', routes, features });
      return { control, started, status: status() };
    },
    async alive() {
      return server ? status() : undefined;
    },
    async stop() {
      const s = server;
      if (!s) return false;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.closeAllConnections();
        s.close(() => resolve());
      });
      calls.push('stop');
      return true;
    },
  };
}
