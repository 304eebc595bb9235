/** The proxy as the engine uses it: started (or restarted with its saved colour) from the config. */
import { ensureProxy } from '../proxy/launch.js';
import type { Engine } from './context.js';

export function openProxy(e: Engine) {
  const { listen, routes } = e.loaded.config.proxy;
  return ensureProxy(e.paths, { listen: { host: listen.host, port: listen.http }, routes });
}
