/**
 * For the nginx canary/preview/maintenance/stats tests: a project with both colours' backends
 * behind a real nginx (blue active), requests from a chosen loopback address, and the master and
 * worker pids that prove no reload happened.
 */
import type { Colour } from '../../src/config/schema.js';
import { masterPid } from '../../src/proxy/nginx/process.js';
import { workersOf } from '../../src/proxy/nginx/procfs.js';
import type { ProxyControl, ProxyDriver } from '../../src/proxy/types.js';
import { startBackend, type TestBackend } from './backends.js';
import { nginxProject, type NginxProject } from './nginx.js';
import { request } from './traffic.js';

export interface TrafficRig {
  p: NginxProject;
  driver: ProxyDriver;
  control: ProxyControl;
  blue: TestBackend;
  green: TestBackend;
  close(): Promise<void>;
}

/** `preview`: a port for listen.preview (the project picks the http port itself). */
export async function trafficRig(
  proxy: Record<string, unknown> = {},
  opts: { preview?: number } = {},
): Promise<TrafficRig> {
  const blue = await startBackend('blue');
  const green = await startBackend('green');
  const p = await nginxProject([{ path: '/', service: 'app' }], proxy);
  const driver =
    opts.preview === undefined ? p.driver : p.driverWith({ listen: { http: p.port, preview: opts.preview } });
  const { control } = await driver.ensure();
  await control.setBackends('blue', { app: [{ host: '127.0.0.1', port: blue.port }] });
  await control.setBackends('green', { app: [{ host: '127.0.0.1', port: green.port }] });
  await control.switchTo('blue');
  return {
    p,
    driver,
    control,
    blue,
    green,
    close: async () => {
      await p.cleanup();
      await blue.close();
      await green.close();
    },
  };
}

/** One request (see traffic.ts); the nginx tests call it send. */
export { request as send, stickyCookie, type Answer as Reply } from './traffic.js';

/** Which colours `n` requests got, in order. */
export async function colours(
  port: number,
  n: number,
  opts: Parameters<typeof request>[2] = {},
): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let i = 0; i < n; i++) out.push((await request(port, '/', opts)).colour);
  return out;
}

export const other = (c: Colour): Colour => (c === 'blue' ? 'green' : 'blue');

/** nginx's master and current workers: the same after an operation = no reload happened. */
export async function generation(p: NginxProject): Promise<{ master: number; workers: number[] }> {
  const master = await masterPid(p.files);
  if (master === undefined) throw new Error('nginx is not running');
  return { master, workers: (await workersOf(master)).map((w) => w.pid) };
}
