/**
 * An e2e project for the docker runtime: the example app and its Dockerfiles copied to a temp
 * folder (`<tmp>/app`, `<tmp>/docker`), the app renamed to a unique name, the built CLI run in
 * `<tmp>/docker` as a real child process (no TTY, bounded), requests through nginx on a free
 * 127.0.0.1 port, and a cleanup that removes every Docker object named after the app.
 */
import assert from 'node:assert/strict';
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
  cli(
    args: string[],
    opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<{ code: number | null; out: string }>;
  /** GET through nginx at 127.0.0.1:port; `colour` is the X-Switchyard-Env header. */
  get(
    pathname: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; colour: string | undefined; body: string }>;
  /** POST of a JSON body through nginx. */
  post(pathname: string, json: unknown): Promise<{ status: number; colour: string | undefined; body: string }>;
  /** A file of the project folder, or undefined when missing. */
  file(rel: string): Promise<string | undefined>;
  /** Names of the app's containers (running only, unless `all`), sorted. */
  containers(opts?: { all?: boolean; colour?: string }): string[];
  cleanup(): Promise<void>;
}

export const docker = (...args: string[]): string =>
  execFileSync('docker', args, { encoding: 'utf8', timeout: 60_000 }).trim();
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
  if (out.includes('shared:') || out.includes('DATABASE_URL') || out.includes('backup:') || out.includes('migrate:'))
    throw new Error('withoutSharedDb: the example switchyard.yml changed shape');
  return out;
}

/**
 * examples/app and examples/docker copied under `root` (keeping the relative paths between them),
 * without any local state; the folder of the Docker example's switchyard.yml.
 */
export async function copyDockerExample(root: string): Promise<string> {
  await fs.cp(path.join(ROOT, 'examples', 'app'), path.join(root, 'app'), {
    recursive: true,
    filter: (s) => !/[/\\](data|\.switchyard|\.current-env)$/.test(s),
  });
  await fs.cp(path.join(ROOT, 'examples', 'docker'), path.join(root, 'docker'), {
    recursive: true,
    filter: (s) => !/[/\\](\.switchyard|\.current-env)$/.test(s),
  });
  return path.join(root, 'docker');
}

export async function makeDockerProject(opts: {
  app: string;
  sharedDb?: boolean;
  env?: NodeJS.ProcessEnv;
}): Promise<DockerE2e> {
  const { app } = opts;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-e2e-docker-'));
  const dir = await copyDockerExample(root);
  const yml = path.join(dir, 'switchyard.yml');
  let text = (await fs.readFile(yml, 'utf8')).replace('app: ala', `app: ${app}`);
  if (opts.sharedDb === false) text = withoutSharedDb(text);
  await fs.writeFile(yml, text);
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SWITCHYARD_PORT: String(port),
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    ...opts.env,
  };
  const send = async (method: 'GET' | 'POST', pathname: string, headers: Record<string, string>, body?: string) => {
    const res = await request(`http://127.0.0.1:${port}${pathname}`, {
      method,
      headers,
      body,
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
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
        const child = spawn(process.execPath, [CLI, ...args], {
          cwd: dir,
          env: { ...env, ...o.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
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
      lines(
        docker(
          'ps',
          ...(o.all ? ['-a'] : []),
          '--format',
          '{{.Names}}',
          '--filter',
          `label=switchyard.app=${app}`,
          ...(o.colour ? ['--filter', `label=switchyard.colour=${o.colour}`] : []),
        ),
      ).sort(),
    cleanup: async () => {
      await p.cli(['down', '--shared', '--force-unlock'], { timeoutMs: 90_000 });
      // Everything made in Docker is named after the app (containers, volumes, images, network): remove it all.
      for (const c of lines(docker('ps', '-aq', '--filter', `name=${app}-`))) docker('rm', '-f', c);
      for (const v of lines(docker('volume', 'ls', '-q', '--filter', `name=${app}-`))) docker('volume', 'rm', v);
      for (const i of lines(docker('images', '--format', '{{.Repository}}:{{.Tag}}')).filter((i) =>
        i.startsWith(`${app}-`),
      ))
        docker('image', 'rm', '-f', i);
      for (const n of lines(docker('network', 'ls', '-q', '--filter', `name=${app}-`))) docker('network', 'rm', n);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
  return p;
}

export type Colour = 'blue' | 'green';

/** Writes VERSION of both example services (api and frontend), so each release shows its own version. */
export async function setVersion(p: DockerE2e, version: string): Promise<void> {
  for (const svc of ['api', 'frontend']) await fs.writeFile(path.join(p.root, 'app', svc, 'VERSION'), `${version}\n`);
}

export interface HistoryLine {
  id: string;
  type: string;
  from: Colour | null;
  to: Colour | null;
  release: string | null;
  result: string;
  reason?: string;
}

export async function historyLines(p: DockerE2e): Promise<HistoryLine[]> {
  return ((await p.file('.switchyard/history.jsonl')) ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as HistoryLine);
}

export interface StateFile {
  active: Colour | null;
  colours: Record<Colour, { release: string | null; status: 'live' | 'standby' | 'stopped' }>;
  lastDeploy?: { id: string; type: string; from: Colour | null; to: Colour; release: string | null; result: string };
}

export async function readStateFile(p: DockerE2e): Promise<StateFile> {
  const text = await p.file('.switchyard/state.json');
  assert.ok(text, 'state.json exists');
  return JSON.parse(text) as StateFile;
}

export interface LiveStep {
  colour: Colour;
  /** The VERSION the live release was built with: the api's /api/health and the frontend page show it. */
  version: string;
  /** The operation that made `colour` live: the last history.jsonl record and state.lastDeploy name it. */
  type: 'init' | 'deploy' | 'rollback';
  from: Colour | null;
  historyLength: number;
  /** The other colour in state.json: its status and its release (null: it never had one). */
  idle: { status: 'stopped' | 'standby'; release: string | null };
  /** When the live release must be a given one (a rollback restarts exactly the previous release). */
  release?: string;
  /** The app's other containers that must run as well (shared database, nginx container). */
  others?: string[];
  /** The colour services (default: the example's api and frontend). */
  services?: string[];
}

const RELEASE_ID = /^\d{8}-\d{6}-[0-9a-z]+(-dirty)?(-\d+)?$/;

/**
 * One step of a cycle, checked everywhere it shows: `.current-env`; state.json (active colour,
 * both colours' status and release); the last history.jsonl record and state.lastDeploy (type,
 * from, to, result, release); the app's containers (exactly `<app>-<service>-<colour>` plus
 * `others`, all running, none stopped and left behind, each colour container labelled with the
 * live release); and the X-Switchyard-Env header and the body of the api and the frontend through
 * the proxy. Returns state.json.
 */
export async function expectLive(p: DockerE2e, want: LiveStep): Promise<StateFile> {
  const { colour } = want;
  const idle: Colour = colour === 'blue' ? 'green' : 'blue';
  const services = want.services ?? ['api', 'frontend'];

  assert.equal(await p.file('.current-env'), `${colour}\n`, '.current-env');

  const state = await readStateFile(p);
  assert.equal(state.active, colour, 'state.json active');
  const live = state.colours[colour];
  assert.equal(live.status, 'live', `state.json colours.${colour}.status`);
  assert.match(live.release ?? '', RELEASE_ID, `state.json colours.${colour}.release`);
  if (want.release !== undefined) assert.equal(live.release, want.release, `state.json colours.${colour}.release`);
  assert.equal(state.colours[idle].status, want.idle.status, `state.json colours.${idle}.status`);
  assert.equal(state.colours[idle].release, want.idle.release, `state.json colours.${idle}.release`);

  const history = await historyLines(p);
  assert.equal(
    history.length,
    want.historyLength,
    `history.jsonl has ${want.historyLength} records: ${history.map((h) => `${h.type}:${h.result}`).join(', ')}`,
  );
  const last = history.at(-1)!;
  assert.deepEqual(
    { type: last.type, from: last.from, to: last.to, result: last.result, release: last.release },
    { type: want.type, from: want.from, to: colour, result: 'success', release: live.release },
    'the last history.jsonl record',
  );
  assert.deepEqual(
    state.lastDeploy && {
      id: state.lastDeploy.id,
      type: state.lastDeploy.type,
      from: state.lastDeploy.from,
      to: state.lastDeploy.to,
      release: state.lastDeploy.release,
      result: state.lastDeploy.result,
    },
    { id: last.id, type: want.type, from: want.from, to: colour, release: live.release, result: 'success' },
    'state.json lastDeploy is the same operation',
  );

  const expected = [...services.map((s) => `${p.app}-${s}-${colour}`), ...(want.others ?? [])].sort();
  assert.deepEqual(p.containers(), expected, 'running containers of the app');
  assert.deepEqual(p.containers({ all: true }), expected, 'no other container of the app, running or not');
  const labels = lines(
    docker(
      'inspect',
      '--format',
      '{{.Name}} {{index .Config.Labels "switchyard.colour"}} ' +
        '{{index .Config.Labels "switchyard.release"}} {{.State.Status}}',
      ...services.map((s) => `${p.app}-${s}-${colour}`),
    ),
  );
  assert.deepEqual(
    labels,
    services.map((s) => `/${p.app}-${s}-${colour} ${colour} ${live.release} running`),
    'colour containers run the live release',
  );

  // Through the proxy, several times (no request may still reach the old colour).
  for (let i = 0; i < 3; i++) {
    const h = await p.get('/api/health');
    assert.equal(h.status, 200, `/api/health through the proxy: ${h.body}`);
    assert.equal(h.colour, colour, 'X-Switchyard-Env of /api/health');
    const body = JSON.parse(h.body) as { environment?: string; version?: string };
    assert.deepEqual(
      { environment: body.environment, version: body.version },
      { environment: colour, version: want.version },
      `/api/health body: ${h.body}`,
    );
    const page = await p.get('/');
    assert.equal(page.status, 200, '/ through the proxy');
    assert.equal(page.colour, colour, 'X-Switchyard-Env of /');
    assert.ok(
      page.body.includes(`id="colour">${colour}<`) && page.body.includes(`id="version">${want.version}<`),
      `the frontend page of ${colour} ${want.version}: ${page.body.slice(0, 400)}`,
    );
  }
  return state;
}
