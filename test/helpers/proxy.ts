/** Starting the built-in proxy for tests: in-process, in a temp project folder. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Colour, Route } from '../../src/config/schema.js';
import { runProxyDaemon } from '../../src/proxy/builtin/daemon.js';
import { ProxyServer } from '../../src/proxy/builtin/server.js';
import { loadSnapshot, saveSnapshot, type ProxySnapshot } from '../../src/proxy/builtin/snapshot.js';
import type { ProxyFeatures } from '../../src/proxy/features.js';
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

export async function startProxy(
  snap: ProxySnapshot,
): Promise<{ proxy: ProxyServer; port: number; stop: () => Promise<void> }> {
  const proxy = await ProxyServer.start(snap);
  return { proxy, port: proxy.address.port, stop: () => proxy.close(2_000) };
}

const routesToApp: Route[] = [{ path: '/', service: 'app' }];

/**
 * The built-in proxy in process with blue and green backends for one route `/` -> `app`, active
 * blue, persisting every change to <temp>/proxy.json as the daemon does (restart it from there with
 * restartPersisted). `cleanup` removes the folder; close the proxy first.
 */
export async function persistedProxy(
  ports: { blue: number; green: number },
  features?: ProxyFeatures,
): Promise<{ proxy: ProxyServer; port: number; file: string; cleanup: () => Promise<void> }> {
  const { root, cleanup } = await tempProject();
  const file = path.join(root, 'proxy.json');
  const snap = snapshot(
    routesToApp,
    { blue: { app: [local(ports.blue)] }, green: { app: [local(ports.green)] } },
    'blue',
  );
  const proxy = await ProxyServer.start(features ? { ...snap, features } : snap, {
    persist: (s) => saveSnapshot(file, s),
  });
  return { proxy, port: proxy.address.port, file, cleanup };
}

/** Closes `proxy` and starts a new one on the same port from what it persisted in `file` (a daemon restart). */
export async function restartPersisted(
  proxy: ProxyServer,
  file: string,
  port: number,
): Promise<{ proxy: ProxyServer; saved: ProxySnapshot }> {
  const saved = await loadSnapshot(file);
  if (!saved) throw new Error(`${file}: nothing persisted`);
  await proxy.close(1_000);
  return {
    proxy: await ProxyServer.start(
      { ...saved, listen: { host: '127.0.0.1', port } },
      { persist: (s) => saveSnapshot(file, s) },
    ),
    saved,
  };
}

/**
 * Runs the proxy daemon (`switchyard proxy`) in this process until `stop()`; resolves once it
 * serves (or with `done` settled, when it failed to start).
 */
export async function daemonInProcess(root: string): Promise<{ stop: () => Promise<void>; done: Promise<void> }> {
  const ac = new AbortController();
  let ready!: () => void;
  const serving = new Promise<void>((r) => (ready = r));
  const done = runProxyDaemon(root, { signal: ac.signal, onReady: () => ready() });
  await Promise.race([serving, done]);
  return {
    done,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}
