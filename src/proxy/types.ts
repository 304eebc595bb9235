/** The Proxy interface the deploy engine talks to, whatever the proxy is (built-in, later nginx). */
import type { Colour, Route } from '../config/schema.js';
import type { Endpoint } from '../runtime/types.js';
import type { ProxyFeatures } from './features.js';
import type { TrafficStats } from './stats.js';

/** Per service, the addresses of its instances (services.<name>.instances), balanced by the proxy. */
export type Backends = Record<string, Endpoint[]>;

export interface ProxyStatus {
  pid: number;
  active: Colour | null;
  listen: { host: string; port: number };
  routes: Route[];
  backends: Partial<Record<Colour, Backends>>;
  inFlight: Record<Colour, number>;
  websockets: Record<Colour, number>;
  /** Open SSE responses per colour (built-in: by Content-Type; nginx: requests that accept text/event-stream). */
  streams?: Record<Colour, number>;
  /** Built-in proxy: the request body limit in bytes (0 = none). */
  maxBodySize?: number;
  /** A weighted split in progress: `percent`% of clients go to `colour`, the rest to `active`. */
  canary: Canary | null;
  /** Maintenance mode: everyone outside the allowlist gets 503 with this message. */
  maintenance: Maintenance | null;
  /** Whether per-colour counting (the live watch) is on. */
  watching: boolean;
  /** What the proxy was configured with beyond routes (preview listener, stickiness, allowlist). */
  features: ProxyFeatures;
  /** Built-in proxy with proxy.workers > 1: the pids of the processes serving traffic. */
  workers?: number[];
  /** Built-in proxy with proxy.metrics: where its daemon serves Prometheus metrics (`GET /metrics`). */
  metrics?: { host: string; port: number };
  /** The swarm edge proxy: each node meant to run a replica, and what it routes (or why it is not reached). */
  nodes?: EdgeNode[];
}

export interface EdgeNode {
  node: string;
  /** Its control API answered. */
  reachable: boolean;
  active?: Colour | null;
  canary?: Canary | null;
  /** Why it was not reached (the task's state, the error). */
  detail?: string;
}

export interface Canary {
  colour: Colour;
  /** 1..99 */
  percent: number;
}

export interface Maintenance {
  message: string;
  /** ISO time it was turned on. */
  since: string;
}

export interface ConfigureOptions {
  /** Built-in proxy: request body limit in bytes (0 = none). */
  maxBodySize?: number;
  features?: ProxyFeatures;
}

export interface DrainOptions {
  /**
   * How long streams keep the colour (deploy.streamGrace). Built-in proxy: then SSE responses are
   * ended cleanly, WebSockets closed with 1001, and only requests not yet answered are waited for.
   * Absent: everything is waited for up to the timeout. nginx, once it has passed: streams are no
   * longer waited for but left to the colour's stop, whose SIGTERM the app answers by ending them
   * (docs/traffic.md#streams).
   */
  streamGraceMs?: number;
}

export interface DrainResult {
  /** Requests still open on the colour when the drain ended. */
  inFlight: number;
  /** WebSockets that were closed with 1001 (at the stream grace, or at the end of the drain). */
  websocketsClosed: number;
  timedOut: boolean;
  ms: number;
  /** Built-in proxy: what was open on the colour when the drain began (what it waited for). */
  openAtStart?: { requests: number; websockets: number; streams?: number };
  /**
   * Set when the stream grace ran out with something still open. Built-in proxy: the SSE responses
   * ended and WebSockets closed then, and the other responses still being written (`long`, left to
   * finish or to the colour's stop). nginx (`leftToStop`): the streams still open then, which the
   * drain stopped waiting for; the app ends them when its colour stops.
   */
  streams?: { afterMs: number; sse: number; websockets: number; long: number; leftToStop?: boolean };
}

export interface ProxyControl {
  status(): Promise<ProxyStatus>;
  /** Routes, and for the built-in proxy its request body limit (bytes, 0 = none) and features. */
  configure(routes: Route[], opts?: ConfigureOptions): Promise<void>;
  setBackends(colour: Colour, backends: Backends): Promise<void>;
  /** Atomic: when this resolves, every new request goes to `colour`. Ends any canary split. */
  switchTo(colour: Colour): Promise<void>;
  /**
   * Atomic like switchTo: `percent`% of clients (sticky: by cookie or address, see features) go
   * to `colour`, the rest to the active colour. 0 ends the split (everyone on the active colour).
   * `colour` must not be the active one and must have backends; percent is an integer 0..99.
   * A client in the split at P% is still in it at any larger percentage.
   */
  setWeight(colour: Colour, percent: number): Promise<void>;
  /** Maintenance on (null message = the default page text) or off. */
  setMaintenance(m: { on: true; message?: string } | { on: false }): Promise<void>;
  /** Counting on (from zero when it was off; no change when already on) or off. */
  setWatch(on: boolean): Promise<void>;
  /** Cumulative per-colour figures since counting was turned on. */
  stats(): Promise<TrafficStats>;
  /** Wait until no request is in flight to `colour` (or timeout), then close its WebSockets with 1001. */
  drain(colour: Colour, timeoutMs: number, opts?: DrainOptions): Promise<DrainResult>;
}

/** One kind of proxy (built-in daemon, nginx): how the engine starts, probes and stops it. */
export interface ProxyDriver {
  readonly kind: string;
  /**
   * Starts the proxy if it is not running (restoring its saved colour), applies the config's routes.
   * `notes`: what ensure found and repaired on its way (e.g. a config edited by hand), for the user.
   * `hold`: when it has to be started, it starts in maintenance with this message (unless already
   * in maintenance), so its first answer is 503 and not a 502 from a colour that is not up yet.
   */
  ensure(opts?: {
    hold?: string;
    /**
     * A proxy of several replicas (the swarm edge): go on with those that answer when some do not
     * (`switch --force`), instead of refusing. Their notes name the nodes left out.
     */
    skipUnreachable?: boolean;
  }): Promise<{ control: ProxyControl; started: boolean; status: ProxyStatus; notes?: string[] }>;
  /** The running proxy's status, or undefined when it is not running. Never throws, never starts it. */
  alive(): Promise<ProxyStatus | undefined>;
  /** Stops the proxy; true when one was running. */
  stop(): Promise<boolean>;
  /**
   * For the supervisor (issue 12, part 3): true when the proxy's process is gone (no live process
   * behind its pid file) and its public port refuses connections, so nobody serves. Cheap (no
   * control call that a busy proxy might answer late), never starts anything. Absent where something
   * else restarts the proxy (nginx in a container: Docker's restart policy).
   */
  gone?(): Promise<boolean>;
  /**
   * Where users arrive, when that is not the config's listen address: the swarm edge proxy's
   * published port on every edge node. A switch is verified through each of them.
   */
  entries?(): Promise<Endpoint[]>;
}
