/**
 * An e2e project for the docker runtime: the example app and its Dockerfiles copied to a temp
 * folder (`<tmp>/app`, `<tmp>/docker`), the app renamed to a unique name, the built CLI run in
 * `<tmp>/docker` as a real child process (no TTY, bounded), requests through nginx on a free
 * 127.0.0.1 port, and a cleanup that removes every Docker object named after the app.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { CLI, freePort, ROOT } from './project.ts';

export interface DockerE2e {
  app: string;
  /** The temp root: `app/` (the example app's sources) and `docker/` (the project folder). */
  root: string;
  /** The project folder, where switchyard.yml is and the CLI runs. */
  dir: string;
  port: number;
  env: NodeJS.ProcessEnv;
  cli(args: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ code: number | null; out: string }>;
  /** GET through nginx at 127.0.0.1:port; `colour` is the X-Switchyard-Env header. */
  get(pathname: string, headers?: Record<string, string>): Promise<{ status: number; colour: string | undefined; body: string }>;
  /** POST of a JSON body through nginx. */
  post(pathname: string, json: unknown): Promise<{ status: number; colour: string | undefined; body: string }>;
  /** A file of the project folder, or undefined when missing. */
  file(rel: string): Promise<string | undefined>;
  /** Names of the app's containers (running only, unless `all`), sorted. */
  containers(opts?: { all?: boolean; colour?: string }): string[];
  cleanup(): Promise<void>;
}

export const docker = (...args: string[]): string => execFileSync('docker', args, { encoding: 'utf8', timeout: 60_000 }).trim();
const lines = (s: string) => s.split('\n').filter(Boolean);

/**
 * Drops the example's shared PostgreSQL (and the DATABASE_URL that points at it, with its comment):
 * faster start. The API then keeps its users in a JSON file inside each container, which blue and
 * green do NOT share: fine for tests whose sign-ins stay on one colour (the smoke steps' login),
 * wrong for anything that carries a token from one colour to the other (use the database for that).
 */
export function withoutSharedDb(yml: string): string {
  const out = yml
    .replace(/^shared:\n(?: {2}.*\n)+/m, '')
    .replace(/^(?: {4}#.*\n)* {4}env:\n {6}DATABASE_URL: .*\n/m, '')
    .replace(/^(?:#.*\n)*backup: .*\n/m, '')
    .replace(/^(?:#.*\n)*deploy:\n {2}hooks:\n(?: {4}.*\n)+/m, '');
  if (out.includes('shared:') || out.includes('DATABASE_URL') || out.includes('backup:') || out.includes('migrate:')) throw new Error('withoutSharedDb: the example switchyard.yml changed shape');
  return out;
}

export async function makeDockerProject(opts: { app: string; sharedDb?: boolean; env?: NodeJS.ProcessEnv }): Promise<DockerE2e> {
  const { app } = opts;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-e2e-docker-'));
  await fs.cp(path.join(ROOT, 'examples', 'app'), path.join(root, 'app'), { recursive: true, filter: (s) => !/[/\\](data|\.switchyard|\.current-env)$/.test(s) });
  await fs.cp(path.join(ROOT, 'examples', 'docker'), path.join(root, 'docker'), { recursive: true, filter: (s) => !/[/\\](\.switchyard|\.current-env)$/.test(s) });
  const dir = path.join(root, 'docker');
  const yml = path.join(dir, 'switchyard.yml');
  let text = (await fs.readFile(yml, 'utf8')).replace('app: ala', `app: ${app}`);
  if (opts.sharedDb === false) text = withoutSharedDb(text);
  await fs.writeFile(yml, text);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_PORT: String(port), FORCE_COLOR: '0', NO_COLOR: '1', ...opts.env };
  const send = async (method: 'GET' | 'POST', pathname: string, headers: Record<string, string>, body?: string) => {
    const res = await request(`http://127.0.0.1:${port}${pathname}`, { method, headers, body, headersTimeout: 5000, bodyTimeout: 5000 });
    const c = res.headers['x-switchyard-env'];
    return { status: res.statusCode, colour: typeof c === 'string' ? c : undefined, body: await res.body.text() };
  };

  const p: DockerE2e = {
    app,
    root,
    dir,
    port,
    env,
    cli: (args, o = {}) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [CLI, ...args], { cwd: dir, env: { ...env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 240_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      }),
    get: (pathname, headers = {}) => send('GET', pathname, headers),
    post: (pathname, json) => send('POST', pathname, { 'content-type': 'application/json' }, JSON.stringify(json)),
    file: async (rel) => fs.readFile(path.join(dir, rel), 'utf8').catch(() => undefined),
    containers: (o = {}) =>
      lines(docker('ps', ...(o.all ? ['-a'] : []), '--format', '{{.Names}}', '--filter', `label=switchyard.app=${app}`, ...(o.colour ? ['--filter', `label=switchyard.colour=${o.colour}`] : []))).sort(),
    cleanup: async () => {
      await p.cli(['down', '--shared', '--force-unlock'], { timeoutMs: 90_000 });
      // Everything made in Docker is named after the app (containers, volumes, images, network): remove it all.
      for (const c of lines(docker('ps', '-aq', '--filter', `name=${app}-`))) docker('rm', '-f', c);
      for (const v of lines(docker('volume', 'ls', '-q', '--filter', `name=${app}-`))) docker('volume', 'rm', v);
      for (const i of lines(docker('images', '--format', '{{.Repository}}:{{.Tag}}')).filter((i) => i.startsWith(`${app}-`))) docker('image', 'rm', '-f', i);
      for (const n of lines(docker('network', 'ls', '-q', '--filter', `name=${app}-`))) docker('network', 'rm', n);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
  return p;
}
