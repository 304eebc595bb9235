/**
 * The nginx ProxyDriver (`proxy: { kind: nginx, mode: host }`): an nginx master on this machine,
 * private to the project (.switchyard/nginx/), started by the first command that needs it and left
 * running between commands like the built-in proxy daemon.
 */
import type { Config, NginxProxyConfig } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import type { ProjectPaths } from '../../state/paths.js';
import { featuresOf } from '../features.js';
import { canConnect } from '../../util/can-connect.js';
import { maintenanceOn, readMaintenance } from './maintenance.js';
import type { ProxyDriver, ProxyStatus } from '../types.js';
import { clearSplit } from './canary.js';
import {
  applyConfig,
  liveWorkers,
  nginxControl,
  nginxStatus,
  renderFor,
  tlsPaths,
  type NginxSetup,
} from './control.js';
import { removeProxyContainer, startCommand, stopProxyContainer, toolCommand } from './container.js';
import {
  ensureDirs,
  keepHandEdits,
  nginxFiles,
  readNginxState,
  recordLoaded,
  restoreConfig,
  setFlag,
  stamped,
  swapConfig,
  writeNginxState,
} from './files.js';
import {
  masterPid,
  nginxVersion,
  startNginx,
  stopNginx,
  testConfig,
  versionAtLeast,
  type NginxListen,
} from './process.js';
import { watchOff } from './watch.js';

/** nginx 1.27.4 added keepalive_min_timeout (softens a real reload for keep-alive clients). */
const KEEPALIVE_MIN_TIMEOUT_SINCE = '1.27.4';

/**
 * Every address nginx must listen on: http, https, the preview listener (its own host) and the
 * metrics one (stub_status), each with the setting a port in use names.
 */
function listens(p: NginxProxyConfig): NginxListen[] {
  const pub = [p.listen.http, ...(p.listen.https === undefined ? [] : [p.listen.https])].map((port) => ({
    host: p.listen.host,
    port,
  }));
  const preview = featuresOf(p).preview;
  return [
    ...pub,
    ...(preview ? [{ ...preview, setting: 'proxy.listen.preview' }] : []),
    ...(p.metrics ? [{ ...p.metrics.listen, setting: 'proxy.metrics.listen' }] : []),
  ];
}

export function nginxDriver(paths: ProjectPaths, config: Config): ProxyDriver {
  if (config.proxy.kind !== 'nginx') throw new Error(`nginxDriver called for proxy.kind ${config.proxy.kind}`);
  const proxy = config.proxy;
  const files = nginxFiles(paths);
  const routes = proxy.routes;
  // Rendered from the start; configure() may pass others later (and records them in state.json).
  const features = featuresOf(proxy);
  const recordFeatures = async () => writeNginxState(files, { ...(await readNginxState(files)), features });
  const inContainer = proxy.mode === 'container';
  const tls = tlsPaths(proxy, paths.root);
  // One-off commands (-v, -t): the binary, or a throwaway container of proxy.image.
  const nginx = inContainer ? toolCommand(proxy, files, tls) : proxy.binary;
  let setup: NginxSetup | undefined;
  // The version check runs nginx once per command, and only when nginx is needed.
  const getSetup = async (): Promise<NginxSetup> => {
    setup ??= {
      proxy,
      files,
      projectDir: paths.root,
      nginx,
      keepaliveMinTimeout: versionAtLeast(await nginxVersion(nginx), KEEPALIVE_MIN_TIMEOUT_SINCE),
    };
    return setup;
  };
  const statusOf = async (pid: number): Promise<ProxyStatus> =>
    nginxStatus({ proxy, files, projectDir: paths.root, nginx, keepaliveMinTimeout: false }, routes, pid);

  return {
    kind: 'nginx',
    ensure: async (opts = {}) => {
      const s = await getSetup();
      const text = renderFor(s, routes, await readNginxState(files), features);
      const control = nginxControl(s, routes);
      const edited = await keepHandEdits(files, text);
      const notes = edited ? [edited] : [];
      const running = await masterPid(files);
      if (running !== undefined) {
        // Listen, routes or TLS may have changed in switchyard.yml (or the file by hand): a checked reload.
        await applyConfig(s, text);
        await recordFeatures();
        return { control, started: false, status: await statusOf(running), notes };
      }
      // A dead master's flag file and backends survive it, so it comes back on the same colour.
      await ensureDirs(files);
      if (opts.hold !== undefined && !(await readMaintenance(files))) {
        await maintenanceOn(files, { message: opts.hold, since: new Date().toISOString() });
      }
      const before = await swapConfig(files, text);
      try {
        await testConfig(nginx, files);
      } catch (e) {
        await restoreConfig(files, before);
        throw e;
      }
      if (inContainer) await removeProxyContainer(config.app); // a crashed one would hold the name
      const pid = await startNginx(
        inContainer ? startCommand(config.app, proxy, files, tls) : proxy.binary,
        files,
        listens(proxy),
      );
      await recordLoaded(files, pid, stamped(text), liveWorkers(pid));
      await recordFeatures();
      return { control, started: true, status: await statusOf(pid), notes };
    },
    ...(inContainer
      ? {}
      : {
          // A SIGKILLed master leaves its workers serving on the port: not gone while they do.
          gone: async () =>
            (await masterPid(files).catch(() => undefined)) === undefined &&
            !(await canConnect(proxy.listen.host, proxy.listen.http)),
        }),
    alive: async () => {
      const pid = await masterPid(files).catch(() => undefined);
      return pid === undefined ? undefined : statusOf(pid).catch(() => undefined);
    },
    stop: async () => {
      const pid = await masterPid(files);
      if (inContainer) {
        if (!(await stopProxyContainer(config.app)) && pid === undefined) return false;
      } else if (pid === undefined) return false;
      try {
        if (!inContainer) await stopNginx(files, pid!);
      } catch (e) {
        throw e instanceof SwitchyardError
          ? e
          : new SwitchyardError('PROXY_FAILED', `could not stop nginx: ${(e as Error).message}`);
      }
      // Like the built-in proxy after `down`: the next start has no colour active until init activates one.
      // A split needs an active colour, and nobody is counting any more. Maintenance stays as it
      // was (turned on on purpose, it must survive a restart of the proxy).
      await setFlag(files, 'blue');
      await clearSplit(files);
      await watchOff(files);
      await writeNginxState(files, { active: null, backends: {} });
      return true;
    },
  };
}
