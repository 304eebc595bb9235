// switchyard's own nginx driver (host mode) on a free loopback port in a temp project, routing / to
// one service `app`, with the given colours' backends set and blue active: what the nginx
// benchmarks measure. `stop()` stops nginx and removes the folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './net.mjs';
import { root } from './options.mjs';

const dist = (p) => import(pathToFileURL(path.join(root, 'dist', p)).href);

/** `ports`: the backend port of each colour to set, e.g. { blue: 4001, green: 4002 }. */
export async function startNginxDriver(ports, prefix = 'sy-bench-nginx-') {
  const { configSchema } = await dist('config/schema.js');
  const { nginxDriver } = await dist('proxy/nginx/driver.js');
  const { projectPaths } = await dist('state/paths.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const port = await freePort();
  const config = configSchema.parse({
    app: 'bench',
    proxy: { kind: 'nginx', listen: { http: port }, routes: [{ path: '/', service: 'app' }] },
    services: { app: { command: 'true', health: { path: '/' } } },
  });
  const driver = nginxDriver(projectPaths(dir), config);
  const stop = async () => {
    await driver.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { control } = await driver.ensure();
    for (const [c, p] of Object.entries(ports)) await control.setBackends(c, { app: [{ host: '127.0.0.1', port: p }] });
    await control.switchTo('blue');
    return { port, control, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
