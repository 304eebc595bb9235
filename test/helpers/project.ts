/**
 * E2E helpers: a temp project copied from a fixture, the built CLI run in it as a real child
 * process (no TTY), and requests through the real proxy on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { HistoryRecord } from '../../src/state/history.ts';
import { budget } from './budget.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = path.join(ROOT, 'dist', 'switchyard.mjs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** The built CLI in `cwd`, no TTY, killed after `timeoutMs` (default 90 s). */
export function runCli(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface Project {
  dir: string;
  port: number;
  env: NodeJS.ProcessEnv;
  run(args: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** Starts the CLI and returns the child, for kill tests. */
  spawn(args: string[]): ReturnType<typeof spawn>;
  get(p: string): Promise<{ status: number; colour: string | undefined; body: string }>;
  file(rel: string): Promise<string | undefined>;
  setBehaviour(b: Record<string, unknown>): Promise<void>;
  cleanup(): Promise<void>;
}

export interface ProjectOptions {
  proxy?: 'builtin' | 'nginx';
  /** Built-in proxy: proxy.workers (processes serving traffic). */
  workers?: number;
  /**
   * services.<name>.restart for every service (fixture only). `never` for tests of what happens while
   * a service is down (diagnosis, recovery, a failed health check): the supervisor would start it again.
   */
  restart?: 'never' | 'on-failure' | 'always';
  /**
   * proxy.restart. `never` for tests of what a command does when it finds the proxy dead (it starts
   * it again itself): the supervisor would otherwise restart it first (run/proxy-keeper.ts).
   */
  proxyRestart?: 'never';
  /** services.api.instances (fixture only): how many api processes each colour runs. */
  apiInstances?: number;
}

/** A temp copy of a fixture; `proxy: 'nginx'` puts a real nginx (host mode) in front instead of the built-in proxy. */
export async function makeProject(
  fixture: 'fixture' | 'example' = 'fixture',
  opts: ProjectOptions = {},
): Promise<Project> {
  const src = fixture === 'fixture' ? path.join(ROOT, 'test', 'fixtures', 'app') : path.join(ROOT, 'examples', 'app');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `sy-e2e-${fixture}-`));
  await fs.cp(src, dir, { recursive: true, filter: (s) => !/[/\\](data|\.switchyard|\.current-env)$/.test(s) });
  if (opts.proxy === 'nginx') {
    const yml = path.join(dir, 'switchyard.yml');
    const text = await fs.readFile(yml, 'utf8');
    if (!text.includes('kind: builtin')) throw new Error(`${fixture}/switchyard.yml has no "kind: builtin" to replace`);
    await fs.writeFile(yml, text.replace('kind: builtin', 'kind: nginx'));
  }
  if (opts.workers !== undefined) {
    const yml = path.join(dir, 'switchyard.yml');
    const text = await fs.readFile(yml, 'utf8');
    if (!/^ {2}kind: builtin$/m.test(text))
      throw new Error(`${fixture}/switchyard.yml has no "  kind: builtin" line to add workers to`);
    await fs.writeFile(yml, text.replace(/^ {2}kind: builtin$/m, `  kind: builtin\n  workers: ${opts.workers}`));
  }
  if (opts.proxyRestart !== undefined) {
    const yml = path.join(dir, 'switchyard.yml');
    const text = await fs.readFile(yml, 'utf8');
    const kind = /^ {2}kind: (builtin|nginx)$/m;
    if (!kind.test(text)) throw new Error(`${fixture}/switchyard.yml has no "  kind: ..." line to add restart to`);
    await fs.writeFile(
      yml,
      text.replace(kind, (line) => `${line}\n  restart: ${opts.proxyRestart}`),
    );
  }
  if (opts.restart !== undefined) {
    const yml = path.join(dir, 'switchyard.yml');
    const text = await fs.readFile(yml, 'utf8');
    const marker = /^ {4}stopTimeout: 2s$/gm;
    if (fixture !== 'fixture' || (text.match(marker) ?? []).length !== 2)
      throw new Error(`${fixture}/switchyard.yml has no "    stopTimeout: 2s" line per service to add restart to`);
    await fs.writeFile(yml, text.replace(marker, `    stopTimeout: 2s\n    restart: ${opts.restart}`));
  }
  if (opts.apiInstances !== undefined) {
    const yml = path.join(dir, 'switchyard.yml');
    const text = await fs.readFile(yml, 'utf8');
    const api = /^ {2}api:\n {4}cwd: \.\n/m;
    if (fixture !== 'fixture' || !api.test(text))
      throw new Error(`${fixture}/switchyard.yml has no "  api:" service to add instances to`);
    await fs.writeFile(
      yml,
      text.replace(api, (m) => `${m}    instances: ${opts.apiInstances}\n`),
    );
  }
  const port = await freePort();
  const env = { ...process.env, SWITCHYARD_PORT: String(port), FORCE_COLOR: '0' };
  const p: Project = {
    dir,
    port,
    env,
    run: (args, opts = {}) => runCli(args, { cwd: dir, env: { ...env, ...opts.env }, timeoutMs: opts.timeoutMs }),
    spawn: (args) => spawn(process.execPath, [CLI, ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] }),
    get: async (pth) => {
      const res = await request(`http://127.0.0.1:${port}${pth}`, { headersTimeout: 5000, bodyTimeout: 5000 });
      const body = await res.body.text();
      const c = res.headers['x-switchyard-env'];
      return { status: res.statusCode, colour: typeof c === 'string' ? c : undefined, body };
    },
    file: async (rel) => fs.readFile(path.join(dir, rel), 'utf8').catch(() => undefined),
    setBehaviour: async (b) => fs.writeFile(path.join(dir, 'behaviour.json'), JSON.stringify(b)),
    cleanup: async () => {
      const down = await p.run(['down', '--force-unlock'], { timeoutMs: 30_000 });
      // A test may leave a config `down` cannot load (a variable only its own run had): never leak the daemons.
      if (down.code !== 0) await killLeftovers(dir);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return p;
}

/** Best effort, by the project's pid files: the supervisor, the proxy daemon, nginx, each colour's process groups. */
export async function killLeftovers(dir: string): Promise<void> {
  const signals: Array<[number, NodeJS.Signals]> = [];
  const readPid = async (f: string) =>
    // A pid file holds the pid first (the supervisor's adds its start time).
    Number((await fs.readFile(path.join(dir, '.switchyard', f), 'utf8').catch(() => '')).trim().split(/\s+/)[0]);
  // SIGTERM for the daemons: nginx's master then takes its workers with it (SIGKILL would orphan them).
  // The supervisor first: it would start again the processes killed below.
  for (const f of ['run/supervisor.pid', 'run/proxy.pid', 'nginx/nginx.pid'])
    signals.push([await readPid(f), 'SIGTERM']);
  for (const c of ['blue', 'green']) {
    const run = JSON.parse(
      (await fs.readFile(path.join(dir, '.switchyard', 'run', `${c}.json`), 'utf8').catch(() => '{}')) || '{}',
    ) as { services?: Record<string, { pid?: number }> };
    // detached: its own process group
    for (const s of Object.values(run.services ?? {})) if (s.pid) signals.push([-s.pid, 'SIGKILL']);
  }
  for (const [pid, sig] of signals.filter(([x]) => Number.isInteger(x) && Math.abs(x) > 1)) {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** A fresh project on which `init` succeeded (or the error, with init's output, and nothing left running). */
export async function makeInitedProject(
  fixture: 'fixture' | 'example' = 'fixture',
  opts: ProjectOptions = {},
): Promise<Project> {
  const p = await makeProject(fixture, opts);
  const r = await p.run(['init']);
  if (r.code !== 0) {
    await p.cleanup();
    throw new Error(`init failed (${r.code}):\n${r.stdout}${r.stderr}`);
  }
  return p;
}

/**
 * Registers before/after hooks for a test file: a fresh project (optionally `init`ed, which must
 * succeed) before, `down` and removal after. Returns a getter for the project.
 */
export function useProject(
  hooks: {
    before: (fn: () => Promise<void>, options: { timeout: number }) => void;
    after: (fn: () => Promise<void>, options: { timeout: number }) => void;
  },
  fixture: 'fixture' | 'example' = 'fixture',
  opts: { init?: boolean } & ProjectOptions = {},
): () => Project {
  let p: Project | undefined;
  // Measured: a copy and `init` take 2-4 s (the example with workers up to 5 s), `down` 1-3 s.
  hooks.before(async () => {
    const { init, ...o } = opts;
    p = init ? await makeInitedProject(fixture, o) : await makeProject(fixture, o);
  }, budget(5_000));
  hooks.after(async () => {
    await p?.cleanup();
  }, budget(3_000));
  return () => p!;
}

/** The project's history records, oldest first (none when there is no history yet). */
export async function historyOf(p: Project): Promise<HistoryRecord[]> {
  return ((await p.file('.switchyard/history.jsonl')) ?? '')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as HistoryRecord);
}
