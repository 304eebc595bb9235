/**
 * ProxyControl for nginx. Colour switches only touch the flag file (no reload, no dropped
 * keep-alive connections). Backends and routes are real config changes: re-render, and only when
 * the text changed, `nginx -t` then reload; a rejected config is put back as it was.
 */
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs/promises';
import type { Colour, NginxProxyConfig, Route } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import type { Backends, DrainResult, ProxyControl, ProxyStatus } from '../types.js';
import { ensureDirs, flagColour, readNginxState, recordLoaded, restoreConfig, setFlag, stamped, stillLoaded, swapConfig, writeNginxState, type NginxFiles, type NginxState } from './files.js';
import { masterPid, reloadNginx, testConfig, type NginxCommand } from './process.js';
import { upstreamConnections, workersOf } from './procfs.js';
import { renderNginxConfig, routedServices } from './render.js';

const DRAIN_POLL_MS = 50;

export interface NginxSetup {
  proxy: NginxProxyConfig;
  files: NginxFiles;
  projectDir: string;
  /** From `nginx -v`: whether keepalive_min_timeout exists (1.27.4+). */
  keepaliveMinTimeout: boolean;
  /** How to run one-off nginx commands (`-t`): the binary, or a throwaway container (mode: container). */
  nginx: NginxCommand;
}

/** Absolute certificate paths, when TLS is configured. */
export function tlsPaths(proxy: NginxProxyConfig, projectDir: string): { cert: string; key: string } | undefined {
  return proxy.tls ? { cert: path.resolve(projectDir, proxy.tls.cert), key: path.resolve(projectDir, proxy.tls.key) } : undefined;
}

/** The worker user, only when we are root: nginx would otherwise drop to "nobody", which cannot read .switchyard (0700). */
function workerUser(proxy: NginxProxyConfig): string | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  return proxy.user ?? os.userInfo().username;
}

export function renderFor(s: NginxSetup, routes: Route[], state: NginxState): string {
  return renderNginxConfig({
    proxy: { ...s.proxy, routes },
    files: s.files,
    services: routedServices(routes),
    backends: state.backends,
    tls: tlsPaths(s.proxy, s.projectDir),
    user: workerUser(s.proxy),
    keepaliveMinTimeout: s.keepaliveMinTimeout,
    // In a container nginx is the main process: it must stay in the foreground.
    daemon: s.proxy.mode !== 'container',
  });
}

/**
 * Writes `text` as the config if it differs from the file: `nginx -t`, then a reload when a master
 * runs. On any failure the previous file is restored (nothing changed) and the error rethrown.
 * Returns whether the config changed.
 */
export async function applyConfig(s: NginxSetup, text: string): Promise<boolean> {
  const want = stamped(text);
  const current = await fs.readFile(s.files.conf, 'utf8').catch(() => undefined);
  if (current === want) return false;
  await ensureDirs(s.files);
  const running = await masterPid(s.files);
  // Only the file changed (edited by hand, never loaded): nginx already runs `want`. Putting the
  // file back needs no reload, and a reload would drop requests on keep-alive connections.
  if (running !== undefined && (await stillLoaded(s.files, running, want, liveWorkers(running)))) {
    await swapConfig(s.files, text);
    return true;
  }
  const before = await swapConfig(s.files, text);
  try {
    await testConfig(s.nginx, s.files);
    const pid = await masterPid(s.files);
    if (pid !== undefined) {
      await reloadNginx(s.files, pid);
      await recordLoaded(s.files, pid, want, liveWorkers(pid));
    }
  } catch (e) {
    await restoreConfig(s.files, before);
    throw e;
  }
  return true;
}

/** The master's current-generation workers (not the old ones finishing after a reload). */
export const liveWorkers = (master: number) => async () => (await workersOf(master)).filter((w) => !w.shuttingDown).map((w) => w.pid);

export async function nginxStatus(s: NginxSetup, routes: Route[], pid: number): Promise<ProxyStatus> {
  const state = await readNginxState(s.files);
  const flag = await flagColour(s.files);
  return {
    pid,
    // No flag and never switched: nothing was activated yet (nginx would send such requests to blue).
    active: state.active === null && flag === 'blue' ? null : flag,
    listen: { host: s.proxy.listen.host, port: s.proxy.listen.http },
    routes,
    backends: state.backends,
    // nginx cannot count these per colour without a module; see drain().
    inFlight: { blue: 0, green: 0 },
    websockets: { blue: 0, green: 0 },
  };
}

export function nginxControl(s: NginxSetup, initialRoutes: Route[]): ProxyControl {
  let routes = initialRoutes;
  return {
    // pid 0: nginx is not running (the control object outlives a stop in tests).
    status: async () => nginxStatus(s, routes, (await masterPid(s.files)) ?? 0),
    configure: async (next) => {
      await applyConfig(s, renderFor(s, next, await readNginxState(s.files)));
      routes = next;
    },
    setBackends: async (colour: Colour, backends: Backends) => {
      const state = await readNginxState(s.files);
      const next: NginxState = { ...state, backends: { ...state.backends, [colour]: backends } };
      await applyConfig(s, renderFor(s, routes, next));
      await writeNginxState(s.files, next);
    },
    switchTo: async (colour: Colour) => {
      // Like the built-in proxy: never move traffic to a colour nginx has no address for (it would 502).
      const known = (await readNginxState(s.files)).backends[colour] ?? {};
      const missing = routedServices(routes).filter((svc) => known[svc] === undefined);
      if (missing.length > 0) {
        throw new SwitchyardError('PROXY_FAILED', `cannot switch to ${colour}: no backend for ${missing.map((m) => JSON.stringify(m)).join(', ')}`, {
          hint: `start ${colour} first (deploy or rollback do)`,
        });
      }
      await setFlag(s.files, colour);
      await writeNginxState(s.files, { ...(await readNginxState(s.files)), active: colour });
    },
    drain: (colour, timeoutMs) => drainColour(s, colour, timeoutMs),
  };
}

/**
 * nginx has no per-colour in-flight count, so we watch what the kernel shows: (1) old-generation
 * workers left by a reload must exit (they may still serve requests on the old config), and (2)
 * nginx's upstream connections to the colour's ports must all close. A connection still open is
 * a request in flight or an idle pooled one; pooled ones close after upstreamKeepaliveTimeout, so
 * the drain takes about that long after traffic left. What is open at the timeout is reported as
 * inFlight: an upper bound. WebSockets are not closed here; they end when the colour stops.
 */
export async function drainColour(s: NginxSetup, colour: Colour, timeoutMs: number): Promise<DrainResult> {
  const t0 = performance.now();
  const elapsed = () => Math.round(performance.now() - t0);
  const pid = await masterPid(s.files);
  const ports = Object.values((await readNginxState(s.files)).backends[colour] ?? {}).map((b) => b.port);
  let open = 0;
  while (pid !== undefined) {
    const workers = await workersOf(pid);
    open = await upstreamConnections(workers.map((w) => w.pid), ports);
    if (open === 0 && !workers.some((w) => w.shuttingDown)) break;
    if (elapsed() >= timeoutMs) return { inFlight: open, websocketsClosed: 0, timedOut: true, ms: elapsed() };
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
  return { inFlight: 0, websocketsClosed: 0, timedOut: false, ms: elapsed() };
}
