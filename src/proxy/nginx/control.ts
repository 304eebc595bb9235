/**
 * ProxyControl for nginx. Colour switches, canary splits, maintenance and counting only touch
 * files nginx tests per request (no reload, no dropped keep-alive connections). Backends, routes
 * and features are real config changes: re-render, and only when the text changed, `nginx -t`
 * then reload; a rejected config is put back as it was.
 */
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs/promises';
import type { Colour, NginxProxyConfig, Route } from '../../config/schema.js';
import { featuresOf, type ProxyFeatures } from '../features.js';
import { applyCommand, checkColour, checkPercent, type Routing } from '../transitions.js';
import { checkMaintenanceMessage } from '../maintenance-page.js';
import type { Backends, ProxyControl, ProxyStatus } from '../types.js';
import { clearSplit, readSplit, writeSplit } from './canary.js';
import {
  ensureDirs,
  flagColour,
  readNginxState,
  recordLoaded,
  restoreConfig,
  setFlag,
  stamped,
  stillLoaded,
  swapConfig,
  writeNginxState,
  type NginxFiles,
  type NginxState,
} from './files.js';
import { maintenanceOff, maintenanceOn, readMaintenance } from './maintenance.js';
import { masterPid, reloadNginx, testConfig, type NginxCommand } from './process.js';
import { drainColour, openStreams } from './drain.js';
import { workersOf } from './procfs.js';
import { renderNginxConfig, routedServices, type ResolvedUpstreams } from './render.js';
import { checkFeatures } from './render-traffic.js';
import { LogReader, watchOff, watchOn, watching } from './watch.js';

export interface NginxSetup {
  proxy: NginxProxyConfig;
  files: NginxFiles;
  projectDir: string;
  /** From `nginx -v`: whether keepalive_min_timeout exists (1.27.4+). */
  keepaliveMinTimeout: boolean;
  /** How to run one-off nginx commands (`-t`): the binary, or a throwaway container (mode: container). */
  nginx: NginxCommand;
  /** The swarm edge: backends are DNS names that nginx resolves itself (render.ts). */
  resolve?: ResolvedUpstreams;
  /** The swarm edge: a name's addresses now, to find nginx's connections to a colour (drainColour). */
  lookup?: (host: string) => Promise<string[]>;
}

/** Absolute certificate paths, when TLS is configured. */
export function tlsPaths(proxy: NginxProxyConfig, projectDir: string): { cert: string; key: string } | undefined {
  return proxy.tls
    ? { cert: path.resolve(projectDir, proxy.tls.cert), key: path.resolve(projectDir, proxy.tls.key) }
    : undefined;
}

/**
 * The worker user, only when we are root: nginx would otherwise drop to "nobody", which cannot read .switchyard (0700).
 */
function workerUser(proxy: NginxProxyConfig): string | undefined {
  if (process.geteuid?.() !== 0) return undefined;
  return proxy.user ?? os.userInfo().username;
}

export function renderFor(
  s: NginxSetup,
  routes: Route[],
  state: NginxState,
  features: ProxyFeatures = featuresOf(s.proxy),
): string {
  return renderNginxConfig({
    features,
    proxy: { ...s.proxy, routes },
    files: s.files,
    services: routedServices(routes),
    backends: state.backends,
    tls: tlsPaths(s.proxy, s.projectDir),
    user: workerUser(s.proxy),
    keepaliveMinTimeout: s.keepaliveMinTimeout,
    // In a container nginx is the main process: it must stay in the foreground.
    daemon: s.proxy.mode !== 'container',
    ...(s.resolve ? { resolve: s.resolve } : {}),
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
export const liveWorkers = (master: number) => async () =>
  (await workersOf(master)).filter((w) => !w.shuttingDown).map((w) => w.pid);

export async function nginxStatus(s: NginxSetup, routes: Route[], pid: number): Promise<ProxyStatus> {
  const state = await readNginxState(s.files);
  const flag = await flagColour(s.files);
  // No flag and never switched: nothing was activated yet (nginx would send such requests to blue).
  const active = state.active === null && flag === 'blue' ? null : flag;
  const split = await readSplit(s.files);
  return {
    pid,
    active,
    listen: { host: s.proxy.listen.host, port: s.proxy.listen.http },
    routes,
    backends: state.backends,
    // nginx cannot count requests per colour without a module; see drainColour(). Streams it can.
    inFlight: { blue: 0, green: 0 },
    ...(await openStreams(s, pid, state)),
    // A split to the active colour (left for a moment by a switch) sends nobody anywhere new.
    canary: split && active !== null && split.colour !== active ? split : null,
    maintenance: await readMaintenance(s.files),
    watching: await watching(s.files),
    features: state.features ?? featuresOf(s.proxy),
  };
}

/** What nginx routes by now, read from its files (the flag, the split, maintenance, watch, its state). */
async function routingOf(s: NginxSetup, routes: Route[]): Promise<Routing> {
  const st = await nginxStatus(s, routes, 0);
  return {
    routes,
    backends: st.backends,
    active: st.active,
    canary: st.canary,
    maintenance: st.maintenance,
    watching: st.watching,
    features: st.features,
  };
}

export function nginxControl(s: NginxSetup, initialRoutes: Route[]): ProxyControl {
  let routes = initialRoutes;
  let features = featuresOf(s.proxy);
  // Where stats() left off in the access log (a byte offset and the unfinished last line).
  const log = new LogReader();
  return {
    // pid 0: nginx is not running (the control object outlives a stop in tests).
    status: async () => nginxStatus(s, routes, (await masterPid(s.files)) ?? 0),
    configure: async (next, opts) => {
      const want = opts?.features ? checkFeatures(opts.features) : features;
      const state = await readNginxState(s.files);
      await applyConfig(s, renderFor(s, next, state, want));
      routes = next;
      features = want;
      await writeNginxState(s.files, { ...state, features: want });
    },
    setBackends: async (colour: Colour, backends: Backends) => {
      const state = await readNginxState(s.files);
      const next: NginxState = { ...state, backends: { ...state.backends, [colour]: backends }, features };
      await applyConfig(s, renderFor(s, routes, next, features));
      await writeNginxState(s.files, next);
    },
    switchTo: async (colour: Colour) => {
      checkColour(colour);
      // Refused (as the built-in proxy refuses it) when nginx has no address for a routed service.
      applyCommand(await routingOf(s, routes), { kind: 'switch', colour });
      // Flag first, split second: a client in the split stays on `colour`, the others move to
      // it; no request goes to a colour other than the old and the new one.
      await setFlag(s.files, colour);
      await clearSplit(s.files);
      await writeNginxState(s.files, { ...(await readNginxState(s.files)), active: colour });
    },
    setWeight: async (colour: Colour, percent: number) => {
      checkPercent(percent);
      checkColour(colour);
      const next = applyCommand(await routingOf(s, routes), { kind: 'weight', colour, percent });
      if (next.canary === null) return clearSplit(s.files);
      await writeSplit(s.files, next.canary.colour, next.canary.percent);
    },
    // A null or absent message is the default page text.
    setMaintenance: async (m) => {
      if (!m.on) return maintenanceOff(s.files);
      // A null or absent message is the default page text.
      const given =
        m.message === undefined || m.message === null ? {} : { message: checkMaintenanceMessage(m.message) };
      const on = { kind: 'maintenance-on', now: new Date().toISOString(), ...given } as const;
      const next = applyCommand(await routingOf(s, routes), on);
      if (next.maintenance) await maintenanceOn(s.files, next.maintenance);
    },
    setWatch: async (on) => (on ? watchOn(s.files) : watchOff(s.files)),
    stats: () => log.read(s.files),
    drain: async (colour, timeoutMs, opts) => {
      checkColour(colour);
      // Refused (as the built-in proxy refuses it) while the colour still gets traffic.
      applyCommand(await routingOf(s, routes), { kind: 'drain', colour });
      return drainColour(s, colour, timeoutMs, opts?.streamGraceMs);
    },
  };
}
