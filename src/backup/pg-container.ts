/**
 * PgTool for `backup.container`: pg_dump / pg_restore / psql run inside the database's own
 * container through the Engine API, as the guide's `docker exec ala-db pg_dump ...` does. The
 * program gets an argument array (never a shell); the role, database and password go in the
 * exec's environment (never in Cmd, which `docker inspect` of the exec shows), and PGHOST is
 * 127.0.0.1 so that the server's password authentication is really used.
 *
 * Streams: stdin is fed from `io.stdin` and half-closed when it ends (the program sees EOF);
 * the engine multiplexes stdout and stderr in frames, which are split here with backpressure
 * into `io.stdout` (or collected) and a bounded stderr tail.
 *
 * Stopping (timeout, AbortSignal): the program is found by a marker in its environment and
 * signalled from a second exec (the Docker runtime's exec control); we reject only once it is
 * gone, so a caller can delete what was being written.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { SwitchyardError, errorMessage, isSwitchyardError } from '../errors.js';
import {
  API_TIMEOUT_MS,
  api,
  apiMessage,
  Collector,
  demuxStream,
  drained,
  endAndFlush,
  EXEC_MARKER,
  helperExec,
  isConnectError,
  sleep,
  statusOf,
  stopMarked,
  targetOf,
  unreachable,
  withTimeout,
} from '../runtime/docker/index.js';
import type { PgTool } from './types.js';

export interface ContainerPgToolOptions {
  /** The engine client (created on first use; the caller decides how to connect). */
  docker: () => Promise<Docker>;
  /** The container's full name, e.g. ala-db (`<app>-<shared service>`). */
  container: string;
  /** Default: the container's POSTGRES_USER, else postgres. */
  user?: string;
  /** Default: the container's POSTGRES_DB, else its POSTGRES_USER, else postgres. */
  database?: string;
  /** Default: the container's POSTGRES_PASSWORD (or the file POSTGRES_PASSWORD_FILE names). Never printed. */
  password?: string;
}

const MAX_STDERR = 64 * 1024;
const MAX_STDOUT = 16 * 1024 * 1024;
/** Kept from stdout even when it goes to io.stdout: the engine writes exec start failures there. */
const STDOUT_HEAD = 4 * 1024;
const DEFAULT_CONNECT_TIMEOUT_S = 10;
/** After the output ended, how long the engine may take to report the exit code. */
const EXIT_WAIT_MS = 10_000;
const EXIT_POLL_MS = 50;

type Program = 'pg_dump' | 'pg_restore' | 'psql';
type Why = 'timeout' | 'abort';

/** Thrown inside run() when the timeout or the signal stops it; turned into TIMEOUT / ABORTED. */
class Stopped extends Error {
  constructor(readonly why: Why) {
    super(why);
  }
}

function envMap(env: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env ?? []) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

/** Docker's own message when the exec could not start the program (written into stdout, exit 126/127). */
function startFailure(text: string): string | undefined {
  const m = /OCI runtime exec failed:[^\r\n]*/.exec(text) ?? /exec failed:[^\r\n]*/.exec(text);
  return m?.[0].trim();
}

export function containerPgTool(opts: ContainerPgToolOptions): PgTool {
  const name = opts.container;
  let client: Promise<Docker> | undefined;
  const getDocker = async (): Promise<Docker> => {
    client ??= opts.docker();
    try {
      return await client;
    } catch (e) {
      client = undefined;
      if (isSwitchyardError(e)) throw e;
      if (isConnectError(e)) throw unreachable(e);
      throw new SwitchyardError('BACKUP_FAILED', `cannot connect to the Docker engine: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  };

  const fail = (message: string, hint?: string, cause?: unknown) =>
    new SwitchyardError('BACKUP_FAILED', message, {
      ...(hint ? { hint } : {}),
      ...(cause === undefined ? {} : { cause }),
    });
  const apiFailed = (what: string, e: unknown) =>
    isSwitchyardError(e)
      ? e
      : fail(
          `Docker engine: ${what} of container ${name} failed: ${apiMessage(e)}`,
          'check the engine (`docker info`) and its log',
          e,
        );
  const missingContainer = (e?: unknown) =>
    fail(
      `no container ${name}: is the shared database started?`,
      'run `switchyard init` (it creates and starts the shared services)',
      e,
    );
  const notRunning = (state: string) =>
    fail(
      `container ${name} is not running (${state})`,
      `start the shared database: \`switchyard init\` (or \`docker start ${name}\`), and see \`docker logs ${name}\``,
    );

  async function run(
    program: Program,
    args: string[],
    io: { stdin?: Readable; stdout?: Writable; timeoutMs: number; signal?: AbortSignal },
  ) {
    const what = `${program} in container ${name}`;
    const stoppedError = (why: Why, note?: string) =>
      why === 'abort'
        ? new SwitchyardError('ABORTED', `${what} interrupted${note ? `: ${note}` : ''}`)
        : new SwitchyardError(
            'TIMEOUT',
            `${what} did not finish within ${Math.round(io.timeoutMs / 1000)} s` +
              ` and was stopped${note ? `: ${note}` : ''}`,
            {
              hint: 'raise backup.timeout if the database is large',
            },
          );
    if (io.signal?.aborted) throw stoppedError('abort');

    // One timer and the signal stop every step, setup included.
    let why: Why | undefined;
    let onStop!: (w: Why) => void;
    const stopped = new Promise<Why>((resolve) => (onStop = resolve));
    const stop = (w: Why) => {
      why ??= w;
      onStop(why);
    };
    const timer = setTimeout(() => stop('timeout'), io.timeoutMs);
    const onAbort = () => stop('abort');
    io.signal?.addEventListener('abort', onAbort, { once: true });
    const guard = <T>(p: Promise<T>): Promise<T> => {
      p.catch(() => undefined);
      return Promise.race([p, stopped.then((w) => Promise.reject(new Stopped(w)))]);
    };

    let docker: Docker | undefined;
    let exec: Docker.Exec | undefined;
    let socket: Duplex | undefined;
    let exited = false;
    let started = false;
    const marker = randomBytes(12).toString('hex');
    const cleanupStreams = () => {
      socket?.destroy();
      if (io.stdin) {
        io.stdin.unpipe();
        io.stdin.destroy();
      }
    };
    try {
      docker = await guard(getDocker());
      const d = docker;
      const container = d.getContainer(name);
      let info: Docker.ContainerInspectInfo;
      try {
        info = await guard(api(d, 'inspect', () => container.inspect()));
      } catch (e) {
        if (statusOf(e) === 404) throw missingContainer(e);
        throw e instanceof Stopped ? e : apiFailed('inspect', e);
      }
      const st = info.State;
      if (st.Paused) throw notRunning('paused');
      if (!st.Running || st.Restarting)
        throw notRunning(
          st.Restarting ? 'restarting' : st.Status === 'exited' ? `exited with code ${st.ExitCode}` : st.Status,
        );

      const cenv = envMap(info.Config.Env);
      const user = opts.user ?? cenv.POSTGRES_USER ?? 'postgres';
      const database = opts.database ?? cenv.POSTGRES_DB ?? cenv.POSTGRES_USER ?? 'postgres';
      let password = opts.password ?? cenv.POSTGRES_PASSWORD;
      if (password === undefined && cenv.POSTGRES_PASSWORD_FILE) {
        // As the entrypoint reads it: $(cat file), trailing newlines dropped.
        const r = await guard(
          helperExec(d, name, ['cat', cenv.POSTGRES_PASSWORD_FILE], Math.min(API_TIMEOUT_MS, io.timeoutMs)),
        );
        if (r.code === 0) password = r.stdout.replace(/\n+$/, '');
      }
      const connectS = Math.min(DEFAULT_CONNECT_TIMEOUT_S, Math.max(2, Math.ceil(io.timeoutMs / 1000)));
      const env: Record<string, string> = {
        PGHOST: '127.0.0.1',
        PGUSER: user,
        PGDATABASE: database,
        PGAPPNAME: 'switchyard',
        PGCONNECT_TIMEOUT: String(connectS),
        ...(password !== undefined ? { PGPASSWORD: password } : {}),
        [EXEC_MARKER]: marker,
      };

      try {
        exec = await guard(
          api(d, 'exec create', () =>
            container.exec({
              Cmd: [program, ...args],
              Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
              AttachStdin: io.stdin !== undefined,
              AttachStdout: true,
              AttachStderr: true,
              Tty: false,
            }),
          ),
        );
      } catch (e) {
        if (e instanceof Stopped) throw e;
        if (statusOf(e) === 404) throw missingContainer(e);
        if (statusOf(e) === 409) throw notRunning(apiMessage(e));
        throw apiFailed('exec create', e);
      }
      const ex = exec;
      started = true;
      const starting = api(d, 'exec start', () => ex.start({ hijack: true, stdin: io.stdin !== undefined }));
      try {
        socket = (await guard(starting)) as Duplex;
      } catch (e) {
        if (e instanceof Stopped) {
          // The program may be starting right now: let the start settle (briefly), then stop it.
          socket = (await withTimeout(starting, 5_000, 'exec start').catch(() => undefined)) as Duplex | undefined;
          throw e;
        }
        if (statusOf(e) === 409 || statusOf(e) === 500) throw notRunning(apiMessage(e));
        throw apiFailed('exec start', e);
      }
      const sock = socket;

      // stdout: into io.stdout with backpressure (head kept for start failures), else collected.
      const out = io.stdout;
      const head = new Collector(STDOUT_HEAD, 'head');
      const collected = new Collector(MAX_STDOUT, 'head');
      const errors = new Collector(MAX_STDERR, 'tail');
      const onStdout = async (b: Buffer) => {
        head.add(b);
        if (!out) collected.add(b);
        else if (!out.write(b)) await drained(out);
      };
      const onStderr = (b: Buffer) => errors.add(b);

      // Our streams failing (a file that cannot be read or written) fails the run.
      const streamFailed = new Promise<never>((_, reject) => {
        io.stdin?.on('error', reject);
        out?.on('error', reject);
      });
      streamFailed.catch(() => undefined);
      // stdin: piped in, the socket half-closed at its end (pipe ends it) so the program sees EOF.
      // A program may stop reading early (pg_restore --list reads the table of contents only):
      // writes to a closing connection fail, which is no failure of the run.
      sock.on('error', () => undefined);
      if (io.stdin) io.stdin.pipe(sock);

      const pumping = demuxStream(sock, onStdout, onStderr).catch((e: NodeJS.ErrnoException) => {
        // The engine may reset the connection after the program ended with our stdin still unread;
        // the exit code (below) tells whether the program finished.
        if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return;
        throw e;
      });
      await guard(Promise.race([pumping, streamFailed]));
      if (io.stdin) {
        io.stdin.unpipe(sock);
        io.stdin.destroy();
      }

      let code: number | undefined;
      for (const t0 = performance.now(); code === undefined; ) {
        const x = await guard(api(d, 'exec inspect', () => ex.inspect()));
        if (!x.Running && x.ExitCode !== null) [code, exited] = [x.ExitCode, true];
        else if (performance.now() - t0 > EXIT_WAIT_MS)
          throw fail(
            `${what}: its output ended but the engine still reports it running after ${EXIT_WAIT_MS / 1000} s`,
            `check \`docker top ${name}\``,
          );
        else await guard(sleep(EXIT_POLL_MS));
      }

      const stderr = errors.text();
      if (code === 126 || code === 127) {
        const text = `${head.text()}\n${stderr}`;
        const oci = startFailure(text);
        if (code === 127 || (oci && /executable file not found|no such file or directory/i.test(oci))) {
          throw fail(
            `${program} is not installed in container ${name}`,
            `use a database image that has the PostgreSQL client programs (the official postgres images do)` +
              `, or set backup.url to use this machine's ${program}`,
          );
        }
        if (oci) throw fail(`could not run ${what}: ${oci}`, `check the image of ${name}`);
      }
      if (out) await guard(Promise.race([endAndFlush(out), streamFailed]));
      return { code, stdout: out ? '' : collected.text(), stderr };
    } catch (e) {
      const w = e instanceof Stopped ? e.why : undefined;
      cleanupStreams();
      let note: string | undefined;
      // Whatever went wrong while the program may run, it must not outlive the run.
      if (docker && exec && !exited) note = await stopMarked(docker, name, marker, exec, started);
      if (io.stdout && !io.stdout.destroyed && !io.stdout.writableFinished) io.stdout.destroy();
      if (w) throw stoppedError(w, note);
      if (isSwitchyardError(e)) throw e;
      if (isConnectError(e)) throw unreachable(e, targetOf(docker));
      throw e;
    } finally {
      clearTimeout(timer);
      io.signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
    }
  }

  return {
    where: (program) => `${program} in container ${name}`,
    run,
  };
}
