/**
 * Running the nginx binary: version, `nginx -t`, start, reload, stop. Always with argument arrays,
 * always `-p <.switchyard/nginx/>` and `-c <its nginx.conf>` so it is our own instance, and every
 * wait bounded.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { SwitchyardError } from '../../errors.js';
import type { NginxFiles } from './files.js';
import { isNginxMaster, isNginxWorker, workersOf } from './procfs.js';
import { canConnect } from '../../util/can-connect.js';
import { sleep } from '../../util/sleep.js';

export const NGINX_CMD_TIMEOUT_MS = 15_000;
export const START_TIMEOUT_MS = 10_000;
export const RELOAD_TIMEOUT_MS = 10_000;
export const STOP_TIMEOUT_MS = 15_000;
const POLL_MS = 25;
export const MISSING_HINT = 'install nginx (apt-get install nginx) or use proxy.kind: builtin';

/**
 * How nginx is run: the binary on this machine, or a command prefix that runs it in a container
 * (`docker run ... IMAGE nginx`, see container.ts). Arguments are always appended as an array.
 */
export type NginxCommand = string | { file: string; args: string[] };

interface RunResult {
  ok: boolean;
  output: string;
  missing: boolean;
}

/** Runs nginx; never throws for a non-zero exit (the caller decides what it means). */
function run(binary: NginxCommand, args: string[]): Promise<RunResult> {
  const cmd = typeof binary === 'string' ? { file: binary, args: [] } : binary;
  return new Promise((resolve) => {
    execFile(
      cmd.file,
      [...cmd.args, ...args],
      { timeout: NGINX_CMD_TIMEOUT_MS, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const output = `${stderr}${stdout}`.trim();
        const code = (err as NodeJS.ErrnoException | null)?.code;
        resolve({ ok: !err, output: code === 'ENOENT' ? '' : output, missing: code === 'ENOENT' || code === 'EACCES' });
      },
    );
  });
}

function notInstalled(binary: NginxCommand): SwitchyardError {
  if (typeof binary !== 'string')
    return new SwitchyardError(
      'PROXY_FAILED',
      `${binary.file} was not found (proxy.mode: container runs nginx with it)`,
      { hint: 'install Docker (scripts/setup-infra.sh) or use proxy.mode: host' },
    );
  return new SwitchyardError('PROXY_FAILED', `nginx was not found (proxy.binary: ${binary})`, { hint: MISSING_HINT });
}

/** "1.22.1" from `nginx -v`; throws a clear error when the binary is missing. */
export async function nginxVersion(binary: NginxCommand): Promise<string> {
  const r = await run(binary, ['-v']);
  if (r.missing) throw notInstalled(binary);
  const m = /nginx\/(\d+\.\d+\.\d+)/.exec(r.output);
  if (!m)
    throw new SwitchyardError(
      'PROXY_FAILED',
      `${typeof binary === 'string' ? binary : 'nginx'} -v did not print an nginx version: ${r.output || '(nothing)'}`,
      { hint: MISSING_HINT },
    );
  return m[1]!;
}

export function versionAtLeast(v: string, min: string): boolean {
  const a = v.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

const base = (f: NginxFiles) => ['-p', `${f.dir}/`, '-c', f.conf];

/** nginx's own lines, without the "nginx: " prefix and the "test failed" trailer. */
function nginxMessage(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.replace(/^nginx: /, '').trim())
    .filter((l) => l !== '' && !/test failed|test is successful|syntax is ok/.test(l));
}

/** `nginx -t` on the config file as it is on disk. Throws PROXY_FAILED with nginx's message. */
export async function testConfig(binary: NginxCommand, f: NginxFiles): Promise<void> {
  // -e stderr: startup messages come back to us instead of a system log we may not write.
  const r = await run(binary, ['-t', '-q', '-e', 'stderr', ...base(f)]);
  if (r.missing) throw notInstalled(binary);
  if (r.ok) return;
  const lines = nginxMessage(r.output);
  // proxy.metrics renders stub_status; an nginx built without its module does not know the directive.
  const noStubStatus = lines.some((l) => l.includes('unknown directive "stub_status"'));
  throw new SwitchyardError('PROXY_FAILED', `nginx rejected the configuration: ${lines[0] ?? 'no message'}`, {
    details: lines.slice(1),
    hint: noStubStatus
      ? 'this nginx was built without ngx_http_stub_status_module, which proxy.metrics needs ' +
        "(`nginx -V` lists --with-http_stub_status_module when it has it; Debian's and the official image have " +
        'it): use an nginx that has it, or remove proxy.metrics; the previous configuration was kept'
      : `the previous configuration was kept; fix proxy in switchyard.yml (rendered file: ${f.conf})`,
  });
}

/** The master's pid when one runs for this project (pid file + /proc check), else undefined. */
export async function masterPid(f: NginxFiles): Promise<number | undefined> {
  const n = Number.parseInt((await fs.readFile(f.pid, 'utf8').catch(() => '')).trim(), 10);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return (await isNginxMaster(n)) ? n : undefined;
}

/** An address nginx listens on, and the setting of switchyard.yml that asks for it (for the error). */
export interface NginxListen {
  host: string;
  port: number;
  /** `proxy.listen` unless given (`proxy.listen.preview`, `proxy.metrics.listen`). */
  setting?: string;
}

/** Starts a daemonised master and waits until it listens on every address. Returns its pid. */
export async function startNginx(binary: NginxCommand, f: NginxFiles, listens: NginxListen[]): Promise<number> {
  const r = await run(binary, ['-e', 'stderr', ...base(f)]);
  if (r.missing) throw notInstalled(binary);
  if (!r.ok) {
    const lines = nginxMessage(r.output);
    // "bind() to 127.0.0.1:8080 failed (98: Address already in use)": the port, not a longer one (":80" in ":8080").
    const inUse = listens.find((l) =>
      lines.some((x) => x.includes('Address already in use') && new RegExp(`:${l.port}(?!\\d)`).test(x)),
    );
    if (inUse || lines.some((x) => x.includes('Address already in use'))) {
      const where = inUse ? `${inUse.host}:${inUse.port}` : listens.map((l) => `${l.host}:${l.port}`).join(', ');
      const setting = inUse?.setting ?? 'proxy.listen';
      throw new SwitchyardError('PORT_IN_USE', `nginx cannot listen on ${where}: the port is already in use`, {
        details: lines,
        hint: `stop whatever listens on ${where} or change ${setting} in switchyard.yml`,
      });
    }
    throw new SwitchyardError('PROXY_FAILED', `nginx did not start: ${lines[0] ?? 'no message'}`, {
      details: lines.slice(1),
      hint: `see ${f.errorLog}`,
    });
  }
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const pid = await masterPid(f);
    if (pid !== undefined && (await Promise.all(listens.map((l) => canConnect(l.host, l.port)))).every(Boolean))
      return pid;
    await sleep(POLL_MS);
  }
  throw new SwitchyardError('PROXY_FAILED', `nginx started but did not listen within ${START_TIMEOUT_MS / 1000} s`, {
    hint: `see ${f.errorLog}`,
  });
}

/**
 * `nginx -s reload` without a second binary call: HUP to the master, then wait until a worker of
 * the new generation exists (the master only forks them once the new config loaded) and every old
 * one is shutting down (no longer accepting). A config the master refuses leaves only old
 * workers, which we report with the error log's last lines.
 */
export async function reloadNginx(f: NginxFiles, pid: number): Promise<void> {
  const before = new Set((await workersOf(pid)).map((w) => w.pid));
  const logFrom = (await fs.stat(f.errorLog).catch(() => undefined))?.size ?? 0;
  process.kill(pid, 'SIGHUP');
  const deadline = performance.now() + RELOAD_TIMEOUT_MS;
  while (performance.now() < deadline) {
    // A master that refuses the new config says so ([emerg]) and keeps the old workers. A listen
    // port it cannot bind is the exception: nginx retries bind() for about 2 s, and takes the new
    // config if the port frees up meanwhile. So its bind() errors are final only once it says
    // "still could not bind()"; until then new workers (it got the port) mean the reload happened.
    const fresh = await newLogLines(f.errorLog, logFrom);
    const emerg = fresh.filter((l) => l.includes('[emerg]'));
    if (emerg.length > 0 && !emerg.every(isBindRetry)) {
      const reason = emerg.filter((l) => !l.includes('still could not bind()')).at(-1) ?? emerg.at(-1)!;
      throw new SwitchyardError(
        'PROXY_FAILED',
        `nginx refused to reload: ${reason.replace(/^.*\[emerg\] [^:]*: /, '')}`,
        {
          details: emerg.slice(-5),
          hint: `nginx keeps serving with its previous configuration; see ${f.errorLog}`,
        },
      );
    }
    const now = await workersOf(pid);
    // Old workers accept new connections until told to quit, so both conditions are needed.
    const started = now.some((w) => !before.has(w.pid) && !w.shuttingDown);
    if (started && now.every((w) => !before.has(w.pid) || w.shuttingDown)) return;
    await sleep(POLL_MS);
  }
  const tail = (await fs.readFile(f.errorLog, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-5);
  throw new SwitchyardError(
    'PROXY_FAILED',
    `nginx did not start new workers within ${RELOAD_TIMEOUT_MS / 1000} s of a reload`,
    { details: tail, hint: `see ${f.errorLog}` },
  );
}

/** `bind() to ... failed` before `still could not bind()`: nginx is still retrying. */
const isBindRetry = (line: string) => /\bbind\(\) to \S+ failed/.test(line);

async function newLogLines(file: string, from: number): Promise<string[]> {
  const fh = await fs.open(file, 'r').catch(() => undefined);
  if (!fh) return [];
  try {
    const { size } = await fh.stat();
    if (size <= from) return [];
    const buf = Buffer.alloc(Math.min(size - from, 64 * 1024));
    await fh.read(buf, 0, buf.length, from);
    return buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
  } finally {
    await fh.close();
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (!(await isNginxMaster(pid))) return true;
    await sleep(POLL_MS);
  }
  return !(await isNginxMaster(pid));
}

/** Graceful stop (SIGQUIT: finish requests), then SIGTERM, then SIGKILL; each wait bounded. */
export async function stopNginx(f: NginxFiles, pid: number, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  // Known before any signal: a SIGKILLed master cannot stop its workers, so we must.
  const workers = (await workersOf(pid)).map((w) => w.pid);
  for (const [sig, ms] of [
    ['SIGQUIT', timeoutMs],
    ['SIGTERM', 3_000],
    ['SIGKILL', 2_000],
  ] as const) {
    if (sig === 'SIGKILL') for (const w of workers) if (await isNginxWorker(w)) process.kill(w, 'SIGKILL');
    try {
      process.kill(pid, sig);
    } catch {
      break; // already gone
    }
    if (await waitExit(pid, ms)) break;
  }
  if (await isNginxMaster(pid))
    throw new SwitchyardError('PROXY_FAILED', `nginx (pid ${pid}) did not stop`, {
      hint: `stop it with \`kill -9 ${pid}\``,
    });
  await fs.rm(f.pid, { force: true });
}
