/**
 * `proxy.mode: container`: the same private nginx, run in a container `<app>-proxy` (the guide's
 * ala-proxy). It shares the host's network and pid namespaces, so everything the host mode relies
 * on holds unchanged: it listens on proxy.listen directly, reaches each colour on its published
 * 127.0.0.1 ports (which exist whether or not the colour runs, so `nginx -t` never depends on a
 * container being up), writes its real pid to the pid file, and takes HUP and /proc inspection for
 * reloads and drains. .switchyard/nginx/ is mounted at the same path, so the colour flag file is
 * the very file nginx tests on every request.
 */
import { execFile } from 'node:child_process';
import type { NginxProxyConfig } from '../../config/schema.js';
import { SwitchyardError } from '../../errors.js';
import type { NginxFiles } from './files.js';
import type { NginxCommand } from './process.js';

const DOCKER_TIMEOUT_MS = 30_000;

export const proxyContainerName = (app: string) => `${app}-proxy`;

function mounts(files: NginxFiles, tls?: { cert: string; key: string }): string[] {
  const paths = [files.dir, ...(tls ? [tls.cert, tls.key] : [])];
  return paths.flatMap((p, i) => ['-v', `${p}:${p}${i === 0 ? '' : ':ro'}`]);
}

/** One-off runs (`nginx -v`, `nginx -t`): a throwaway container with no network at all. */
export function toolCommand(
  proxy: NginxProxyConfig,
  files: NginxFiles,
  tls?: { cert: string; key: string },
): NginxCommand {
  return { file: 'docker', args: ['run', '--rm', '--network', 'none', ...mounts(files, tls), proxy.image, 'nginx'] };
}

/**
 * The long-running proxy: restarted by Docker after a crash or reboot (unless proxy.restart is never),
 * stopped gracefully (SIGQUIT).
 */
export function startCommand(
  app: string,
  proxy: NginxProxyConfig,
  files: NginxFiles,
  tls?: { cert: string; key: string },
): NginxCommand {
  return {
    file: 'docker',
    args: [
      'run',
      '-d',
      '--name',
      proxyContainerName(app),
      '--network',
      'host',
      '--pid',
      'host',
      '--restart',
      proxy.restart === 'never' ? 'no' : 'unless-stopped',
      '--stop-signal',
      'SIGQUIT',
      '--label',
      `switchyard.app=${app}`,
      '--label',
      'switchyard.role=proxy',
      ...mounts(files, tls),
      proxy.image,
      'nginx',
    ],
  };
}

function docker(args: string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('docker', args, { timeout: DOCKER_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) =>
      resolve({ ok: !err, output: `${stderr}${stdout}`.trim() }),
    );
  });
}

/** Removes a leftover (stopped or crashed) proxy container so a new one can take its name. */
export async function removeProxyContainer(app: string): Promise<void> {
  await docker(['rm', '-f', proxyContainerName(app)]);
}

/** `docker stop` (SIGQUIT: requests in flight finish), then remove; Docker will not restart it. */
export async function stopProxyContainer(app: string, timeoutS = 15): Promise<boolean> {
  const r = await docker(['stop', '-t', String(timeoutS), proxyContainerName(app)]);
  if (!r.ok && /No such container/i.test(r.output)) return false;
  if (!r.ok)
    throw new SwitchyardError(
      'PROXY_FAILED',
      `could not stop the nginx container ${proxyContainerName(app)}: ${r.output}`,
    );
  await docker(['rm', proxyContainerName(app)]);
  return true;
}
