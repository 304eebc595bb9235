/**
 * Building one image through the Engine API: the context is sent as a tar stream (tar-fs), the
 * build's output goes to the build log, and a failure carries the last log lines. A Dockerfile
 * outside the context (examples/docker/api.Dockerfile for the context examples/app/api) is added
 * to the stream under a private name, as `docker build -f` does.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { SwitchyardError, errorMessage } from '../../errors.js';
import { openLog, tailLog } from '../process/logs.js';
import { indent } from '../../util/indent.js';
import { makeExcluder } from '../process/snapshot.js';
import { isConnectError, unreachable } from './client.js';

/** Name of an out-of-context Dockerfile inside the tar stream. */
const INJECTED_DOCKERFILE = '.switchyard.Dockerfile';

export interface BuildSpec {
  what: string;
  context: string;
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  tag: string;
  args: Record<string, string>;
  labels: Record<string, string>;
  exclude: string[];
  /** Never sent to the engine (our state folder, when the context is the project folder). */
  /** Never sent to the engine: switchyard's state folder and files (absolute paths). */
  stateDir: string | string[];
  logFile: string;
  timeoutMs: number;
  signal?: AbortSignal;
  redact: (text: string) => string;
}

interface BuildEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

export async function buildImage(docker: Docker, o: BuildSpec): Promise<void> {
  if (o.signal?.aborted) throw new SwitchyardError('ABORTED', `build of ${o.what} interrupted`);
  const rel = path.relative(o.context, o.dockerfile);
  const inside = !rel.startsWith('..') && !path.isAbsolute(rel);
  const dockerfileText = inside ? undefined : await fs.readFile(o.dockerfile);
  const excluded = makeExcluder(o.context, o.exclude, o.stateDir);
  // Loaded here only (its own chunk in the CLI bundle): every other command starts without it.
  // CommonJS: its exports object is the default export, both from the bundle's chunk and under plain Node.
  const tar = (await import('tar-fs')).default;
  const stream = tar.pack(o.context, {
    ignore: (name) => excluded(name),
    finalize: dockerfileText === undefined,
    finish: (pack) => {
      if (dockerfileText === undefined) return;
      pack.entry({ name: INJECTED_DOCKERFILE, mode: 0o644 }, dockerfileText);
      pack.finalize();
    },
  });

  const { fh, offset: logStart } = await openLog(o.logFile);
  const header =
    `--- switchyard: docker build ${o.what} -> ${o.tag}` +
    ` (context ${o.context}, dockerfile ${o.dockerfile})` +
    ` ${new Date().toISOString()} ---\n`;
  await fh.write(header);
  const offset = logStart + Buffer.byteLength(header);
  const ac = new AbortController();
  let why: 'timeout' | 'abort' | undefined;
  const timer = setTimeout(() => ((why = 'timeout'), ac.abort()), o.timeoutMs);
  const onAbort = () => ((why ??= 'abort'), ac.abort());
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let failure: string | undefined;
  // Writes are chained so the log keeps the build's order and all land before the handle closes.
  let writing: Promise<unknown> = Promise.resolve();
  const write = (text: string) => (writing = writing.then(() => fh.write(text)).catch(() => undefined));
  try {
    const out = await docker.buildImage(stream, {
      t: o.tag,
      dockerfile: inside ? rel.split(path.sep).join('/') : INJECTED_DOCKERFILE,
      buildargs: o.args,
      labels: o.labels,
      rm: true,
      forcerm: true,
      abortSignal: ac.signal,
    });
    failure = await new Promise<string | undefined>((resolve) => {
      let error: string | undefined;
      docker.modem.followProgress(
        out,
        (err: Error | null) => resolve(err ? errorMessage(err) : error),
        (ev: BuildEvent) => {
          const text = ev.stream ?? (ev.status ? `${ev.status}\n` : '');
          if (text) write(o.redact(text));
          if (ev.error) {
            error = ev.errorDetail?.message ?? ev.error;
            write(`ERROR: ${o.redact(error)}\n`);
          }
        },
      );
    });
  } catch (e) {
    if (isConnectError(e)) throw unreachable(e);
    failure = errorMessage(e);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    stream.destroy();
    await writing;
    await fh.close();
  }
  if (!failure && !why) return;
  const tail = o.redact(await tailLog(o.logFile, offset));
  if (why === 'abort')
    throw new SwitchyardError('ABORTED', `build of ${o.what} interrupted`, { details: [`log: ${o.logFile}`] });
  if (why === 'timeout') {
    throw new SwitchyardError(
      'TIMEOUT',
      `build of ${o.what} did not finish within ${Math.round(o.timeoutMs / 1000)}s\n${indent(tail)}`,
      {
        details: [`log: ${o.logFile}`],
        hint: `raise services.${o.what}.buildTimeout, or look at the log for a slow step`,
      },
    );
  }
  throw new SwitchyardError(
    'BUILD_FAILED',
    `docker build of ${o.what} failed: ${o.redact(failure ?? 'unknown error')}\n${indent(tail)}`,
    {
      details: [`dockerfile: ${o.dockerfile}`, `context: ${o.context}`, `log: ${o.logFile}`],
      hint: `fix the Dockerfile or the context and deploy again; full output in ${o.logFile}`,
    },
  );
}
