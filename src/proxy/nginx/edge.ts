/**
 * nginx as the swarm edge proxy (`proxy.kind: nginx` with `runtime: swarm`; docs/swarm.md): one
 * replica per edge node, in a container of the global edge service. The container's main process
 * is this agent: it runs an nginx master (files in the node's state volume, per epoch), and serves
 * the same token-guarded control API on the overlay as the built-in edge proxy, applied to that
 * nginx through the nginx ProxyControl of one machine (control.ts). So switches, canary splits,
 * maintenance and counting are the same flag files, and never reload nginx (I3a).
 *
 * What differs from nginx on one machine: backends are the colour's tasks by DNS name, which nginx
 * resolves itself per request (render.ts, ResolvedUpstreams). The names are fixed per service and
 * colour, so the rendered config does not change when tasks come and go: a deploy reloads nothing.
 * When nginx dies, the agent exits, and Swarm restarts the replica, which serves what it served.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { NginxProxyConfig } from '../../config/schema.js';
import { errorMessage, SwitchyardError } from '../../errors.js';
import {
  forgetOtherEpochs,
  lookupTasks,
  serveEdgeControl,
  type EdgeSettings,
  type NginxEdge,
} from '../edge-settings.js';
import { featuresOf } from '../features.js';
import type { ProxyControl } from '../types.js';
import { liveWorkers, nginxControl, renderFor, type NginxSetup } from './control.js';
import {
  ensureDirs,
  nginxFilesIn,
  readNginxState,
  recordLoaded,
  stamped,
  swapConfig,
  writeNginxState,
} from './files.js';
import { maintenanceOn } from './maintenance.js';
import { masterPid, nginxVersion, startNginx, stopNginx, testConfig, versionAtLeast } from './process.js';

/** The folder of one epoch's nginx in the state volume. */
export const nginxEdgeDir = (epoch: string): string => `nginx-${epoch}`;

const WATCH_MS = 1_000;

/** Every address nginx listens on: the public port and the preview port, on every interface. */
function listens(p: NginxProxyConfig, init: EdgeSettings['init']): { host: string; port: number }[] {
  const preview = init.features?.preview;
  return [{ host: p.listen.host, port: p.listen.http }, ...(preview ? [preview] : [])];
}

export interface NginxEdgeOptions {
  signal?: AbortSignal;
  onReady?: (a: { control: { host: string; port: number } }) => void;
  /** The control address, instead of the one found in controlNet (tests on loopback). */
  controlHost?: string;
}

/** First start of an epoch: nothing routed, the config's features, maintenance when held. */
async function firstState(setup: NginxSetup, s: EdgeSettings): Promise<void> {
  if ((await fs.stat(setup.files.state).catch(() => undefined)) !== undefined) return;
  await writeNginxState(setup.files, {
    active: null,
    backends: {},
    features: s.init.features ?? featuresOf(setup.proxy),
  });
  if (s.init.maintenance) await maintenanceOn(setup.files, s.init.maintenance);
}

export async function runNginxEdge(s: EdgeSettings & { nginx: NginxEdge }, opts: NginxEdgeOptions = {}): Promise<void> {
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} edge-proxy (nginx) ${m}\n`);
  await fs.mkdir(s.stateDir, { recursive: true, mode: 0o700 });
  await forgetOtherEpochs(s.stateDir, nginxEdgeDir(s.epoch));
  const proxy = s.nginx.proxy;
  const files = nginxFilesIn(path.join(s.stateDir, nginxEdgeDir(s.epoch)));
  const setup: NginxSetup = {
    proxy,
    files,
    projectDir: files.dir,
    nginx: proxy.binary,
    keepaliveMinTimeout: versionAtLeast(await nginxVersion(proxy.binary), '1.27.4'),
    resolve: s.nginx.resolve,
    lookup: lookupTasks,
  };
  await ensureDirs(files);
  await firstState(setup, s);
  const state = await readNginxState(files);
  const routes = s.init.routes;
  const text = renderFor(setup, routes, state, state.features ?? featuresOf(proxy));
  await swapConfig(files, text);
  await testConfig(setup.nginx, files);
  // A master left by a container that died cannot be running: this is a new container.
  const pid = await startNginx(proxy.binary, files, listens(proxy, s.init));
  await recordLoaded(files, pid, stamped(text), liveWorkers(pid));
  const control: ProxyControl = nginxControl(setup, routes);

  let why: string;
  try {
    why = await serveEdgeControl(s, control, {
      ...opts,
      log,
      ready: (c) => {
        log(`nginx ${pid} listening on ${proxy.listen.host}:${proxy.listen.http}, control ${c.host}:${c.port}`);
        opts.onReady?.({ control: c });
      },
      // nginx gone: stop, and exit non-zero below, so that Swarm restarts the replica (same files).
      watch: (stop) => {
        const t = setInterval(() => {
          masterPid(files).then(
            (p) => p === undefined && stop('nginx exited'),
            () => undefined,
          );
        }, WATCH_MS);
        return () => clearInterval(t);
      },
    });
  } finally {
    const running = await masterPid(files);
    if (running !== undefined)
      await stopNginx(files, running).catch((e: unknown) => log(`could not stop nginx: ${errorMessage(e)}`));
    log('stopped');
  }
  // Not a clean stop: the replica exits non-zero, and Swarm restarts it.
  if (why === 'nginx exited')
    throw new SwitchyardError('PROXY_FAILED', 'edge proxy: nginx exited', { hint: `its log: ${files.errorLog}` });
}
