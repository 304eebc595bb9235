/**
 * A runtime that brings its own proxy (swarm: the edge service, run by the same manager through the
 * same tunnel). Kept out of the Runtime interface, which the proxy's types build on.
 */
import type { ProxyDriver } from '../proxy/types.js';
import type { Runtime } from './types.js';

export interface RuntimeWithProxy extends Runtime {
  proxyDriver(): ProxyDriver;
}

/** The runtime's own proxy driver, or undefined when the config's proxy is the one. */
export function ownProxy(rt: Runtime): ProxyDriver | undefined {
  const p = (rt as Partial<RuntimeWithProxy>).proxyDriver;
  return typeof p === 'function' ? p.call(rt) : undefined;
}
