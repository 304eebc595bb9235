/** Starting the built-in proxy for tests: in-process, in a temp project folder. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Colour, Route } from '../../src/config/schema.js';
import { ProxyServer } from '../../src/proxy/builtin/server.js';
import type { ProxySnapshot } from '../../src/proxy/builtin/snapshot.js';
import type { Backends } from '../../src/proxy/types.js';

export async function tempProject(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-proxy-'));
  return { root, cleanup: () => fs.rm(root, { recursive: true, force: true }) };
}

export function snapshot(
  routes: Route[],
  backends: Partial<Record<Colour, Backends>>,
  active: Colour | null,
  port = 0,
): ProxySnapshot {
  return { listen: { host: '127.0.0.1', port }, routes, backends, active };
}

export const local = (port: number) => ({ host: '127.0.0.1', port });

export async function startProxy(snap: ProxySnapshot): Promise<{ proxy: ProxyServer; port: number; stop: () => Promise<void> }> {
  const proxy = await ProxyServer.start(snap);
  return { proxy, port: proxy.address.port, stop: () => proxy.close(2_000) };
}
