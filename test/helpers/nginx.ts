/**
 * nginx for tests: a temp project folder with a parsed config whose proxy is `kind: nginx` on a
 * free 127.0.0.1 port, and the real driver (its own nginx master under <tmp>/.switchyard/nginx).
 * Also the reload-based switch the flag file replaced, for comparison.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { configSchema, type Config, type Route } from '../../src/config/schema.js';
import { nginxDriver } from '../../src/proxy/nginx/driver.js';
import { nginxFiles, type NginxFiles } from '../../src/proxy/nginx/files.js';
import { masterPid } from '../../src/proxy/nginx/process.js';
import type { ProxyControl, ProxyDriver } from '../../src/proxy/types.js';
import { projectPaths, type ProjectPaths } from '../../src/state/paths.js';
import { freePort } from './backends.js';

export interface NginxProject {
  root: string;
  port: number;
  paths: ProjectPaths;
  files: NginxFiles;
  config: Config;
  driver: ProxyDriver;
  /** A driver for the same folder with another proxy section (TLS, routes...). */
  driverWith(proxy: Record<string, unknown>): ProxyDriver;
  cleanup(): Promise<void>;
}

export function nginxConfig(port: number, routes: Route[], proxy: Record<string, unknown> = {}): Config {
  const services = Object.fromEntries(
    [...new Set(routes.map((r) => r.service))].map((s) => [s, { command: 'true', health: { path: '/' } }]),
  );
  return configSchema.parse({
    app: 'nx',
    proxy: { kind: 'nginx', listen: { http: port }, routes, ...proxy },
    services,
  });
}

export async function nginxProject(routes: Route[], proxy: Record<string, unknown> = {}): Promise<NginxProject> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-nginx-'));
  const port = await freePort();
  const paths = projectPaths(root);
  const config = nginxConfig(port, routes, proxy);
  const driverWith = (p: Record<string, unknown>) => nginxDriver(paths, nginxConfig(port, routes, { ...proxy, ...p }));
  const driver = nginxDriver(paths, config);
  return {
    root,
    port,
    paths,
    files: nginxFiles(paths),
    config,
    driver,
    driverWith,
    cleanup: async () => {
      await driver.stop().catch(() => {});
      // A test may have left a master the driver no longer knows (changed pid file): stop it by pid.
      const pid = await masterPid(nginxFiles(paths));
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

/** ensure() + both colours' backends for one service, blue active. */
export async function startWith(
  p: NginxProject,
  service: string,
  blue: number,
  green: number | undefined,
): Promise<ProxyControl> {
  const { control } = await p.driver.ensure();
  await control.setBackends('blue', { [service]: [{ host: '127.0.0.1', port: blue }] });
  if (green !== undefined) await control.setBackends('green', { [service]: [{ host: '127.0.0.1', port: green }] });
  await control.switchTo('blue');
  return control;
}

/**
 * The old way, kept only to measure it: a config whose upstream comes from an included file,
 * switched by rewriting that file and `nginx -s reload`. Runs in its own prefix folder.
 */
export async function reloadSwitchedNginx(ports: {
  blue: number;
  green: number;
}): Promise<{ port: number; switchTo(c: 'blue' | 'green'): Promise<void>; stop(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-nginx-reload-'));
  const port = await freePort();
  const include = path.join(dir, 'upstream.conf');
  const conf = path.join(dir, 'nginx.conf');
  const upstream = (c: 'blue' | 'green') =>
    `upstream app { server 127.0.0.1:${ports[c]}; keepalive 64; }\nmap $host $sy_colour { default ${c}; }\n`;
  await fs.writeFile(include, upstream('blue'));
  await fs.writeFile(
    conf,
    [
      ...(process.geteuid?.() === 0 ? ['user root;'] : []),
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'worker_processes auto;',
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${dir}/cb; proxy_temp_path ${dir}/pt; fastcgi_temp_path ${dir}/ft; ` +
        `uwsgi_temp_path ${dir}/ut; scgi_temp_path ${dir}/st;`,
      `  include ${include};`,
      '  proxy_http_version 1.1;',
      '  proxy_set_header Connection "";',
      `  server { listen 127.0.0.1:${port}; add_header X-Switchyard-Env $sy_colour always; ` +
        'location / { proxy_pass http://app; } }',
      '}',
      '',
    ].join('\n'),
  );
  const nginx = (args: string[]) =>
    new Promise<void>((resolve, reject) =>
      execFile('nginx', ['-e', 'stderr', '-p', `${dir}/`, '-c', conf, ...args], { timeout: 10_000 }, (e, _o, err) =>
        e ? reject(new Error(`${e.message}: ${err}`)) : resolve(),
      ),
    );
  await nginx([]);
  return {
    port,
    switchTo: async (c) => {
      await fs.writeFile(include, upstream(c));
      await nginx(['-s', 'reload']);
    },
    stop: async () => {
      await nginx(['-s', 'stop']).catch(() => {});
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
