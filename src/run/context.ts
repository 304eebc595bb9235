/** Everything a command needs, built once from the loaded config. */
import type { LoadedConfig } from '../config/loaded.js';
import { makeRedactor } from '../config/redact.js';
import { createRuntime } from '../runtime/index.js';
import type { Runtime } from '../runtime/types.js';
import { ownProxy } from '../runtime/own-proxy.js';
import { proxyDriver } from '../proxy/index.js';
import type { ProxyDriver } from '../proxy/types.js';
import { projectPaths, type ProjectPaths } from '../state/paths.js';
import { silentReporter, type Asker, type Reporter } from './reporter.js';

export interface Engine {
  loaded: LoadedConfig;
  paths: ProjectPaths;
  runtime: Runtime;
  proxy: ProxyDriver;
  reporter: Reporter;
  asker: Asker;
  redact: (s: string) => string;
  /** Aborted on SIGINT/SIGTERM: the running step stops and the command cleans up. */
  signal: AbortSignal;
  /** Who asks, when not the CLI (`dashboard`): recorded in the history records as `origin`. */
  origin?: string;
}

export const noTty: Asker = {
  interactive: false,
  confirm: () => Promise.reject(new Error('confirm() called without a TTY')),
};

export function createEngine(
  loaded: LoadedConfig,
  opts: {
    reporter?: Reporter;
    asker?: Asker;
    signal?: AbortSignal;
    runtime?: Runtime;
    proxy?: ProxyDriver;
    origin?: string;
  } = {},
): Engine {
  const paths = projectPaths(loaded.projectDir);
  const redact = makeRedactor(loaded.secrets);
  const runtime =
    opts.runtime ??
    createRuntime({ config: loaded.config, paths, serviceEnv: loaded.serviceEnv, redact, configFile: loaded.file });
  return {
    loaded,
    paths,
    runtime,
    proxy: opts.proxy ?? ownProxy(runtime) ?? proxyDriver(paths, loaded.config),
    reporter: opts.reporter ?? silentReporter,
    asker: opts.asker ?? noTty,
    redact,
    signal: opts.signal ?? new AbortController().signal,
    ...(opts.origin ? { origin: opts.origin } : {}),
  };
}
