/** The Proxy interface the deploy engine talks to, whatever the proxy is (built-in, later nginx). */
import type { Colour, Route } from '../config/schema.js';
import type { Endpoint } from '../runtime/types.js';

export type Backends = Record<string, Endpoint>;

export interface ProxyStatus {
  pid: number;
  active: Colour | null;
  listen: { host: string; port: number };
  routes: Route[];
  backends: Partial<Record<Colour, Backends>>;
  inFlight: Record<Colour, number>;
  websockets: Record<Colour, number>;
  /** Built-in proxy: the request body limit in bytes (0 = none). */
  maxBodySize?: number;
}

export interface DrainResult {
  /** Requests still open on the colour when the drain ended. */
  inFlight: number;
  /** WebSockets that were closed with 1001 at the end of the drain. */
  websocketsClosed: number;
  timedOut: boolean;
  ms: number;
}

export interface ProxyControl {
  status(): Promise<ProxyStatus>;
  /** Routes, and for the built-in proxy its request body limit (bytes, 0 = none). */
  configure(routes: Route[], opts?: { maxBodySize?: number }): Promise<void>;
  setBackends(colour: Colour, backends: Backends): Promise<void>;
  /** Atomic: when this resolves, every new request goes to `colour`. */
  switchTo(colour: Colour): Promise<void>;
  /** Wait until no request is in flight to `colour` (or timeout), then close its WebSockets with 1001. */
  drain(colour: Colour, timeoutMs: number): Promise<DrainResult>;
}

/** One kind of proxy (built-in daemon, nginx): how the engine starts, probes and stops it. */
export interface ProxyDriver {
  readonly kind: string;
  /** Starts the proxy if it is not running (restoring its saved colour), applies the config's routes. */
  /** `notes`: what ensure found and repaired on its way (e.g. a config edited by hand), for the user. */
  ensure(): Promise<{ control: ProxyControl; started: boolean; status: ProxyStatus; notes?: string[] }>;
  /** The running proxy's status, or undefined when it is not running. Never throws, never starts it. */
  alive(): Promise<ProxyStatus | undefined>;
  /** Stops the proxy; true when one was running. */
  stop(): Promise<boolean>;
}
