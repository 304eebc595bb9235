/** Picks the proxy driver for the config's proxy.kind. */
import type { Config } from '../config/schema.js';
import type { ProjectPaths } from '../state/paths.js';
import { proxyAlive } from './client.js';
import { featuresOf } from './features.js';
import { daemonRunning, ensureProxy, stopProxy } from './launch.js';
import { canConnect } from '../util/can-connect.js';
import { nginxDriver } from './nginx/driver.js';
import type { ProxyDriver } from './types.js';

export function builtinDriver(paths: ProjectPaths, config: Config): ProxyDriver {
  const { listen, routes } = config.proxy;
  const maxBodySize = config.proxy.kind === 'builtin' ? config.proxy.maxBodySize : undefined;
  return {
    kind: 'builtin',
    ensure: (opts = {}) =>
      ensureProxy(paths, {
        ...(opts.hold === undefined ? {} : { hold: opts.hold }),
        listen: { host: listen.host, port: listen.http },
        routes,
        ...(maxBodySize === undefined ? {} : { maxBodySize }),
        features: featuresOf(config.proxy),
        ...(config.proxy.kind === 'builtin'
          ? { workers: config.proxy.workers, metrics: config.proxy.metrics?.listen ?? null }
          : {}),
      }),
    alive: () => proxyAlive(paths.proxySocket),
    stop: () => stopProxy(paths),
    gone: async () => !(await daemonRunning(paths)) && !(await canConnect(listen.host, listen.http)),
  };
}

export function proxyDriver(paths: ProjectPaths, config: Config): ProxyDriver {
  switch (config.proxy.kind) {
    case 'builtin':
      return builtinDriver(paths, config);
    case 'nginx':
      return nginxDriver(paths, config);
  }
}
