/** The proxy as the engine uses it: started (or restarted with its saved colour) from the config. */
import type { Engine } from './context.js';

export function openProxy(e: Engine) {
  return e.proxy.ensure();
}
