/**
 * Forwards one HTTP request to a backend with undici's low-level dispatch API: the response is
 * written straight to the client as it arrives (no buffering, no intermediate stream objects),
 * with backpressure in both directions. This was the fastest correct option measured (see
 * bench/proxy-throughput.mjs and docs/benchmarks.md).
 * A connection error before any byte of the answer went out is retried where that is safe: a
 * connection that could not be made (refused, no route, timed out: nothing reached the app) on
 * another instance of the service, for any method without a body; a pooled socket that died under
 * us (RESET_CODES) once, for an idempotent method without a body, on a fresh connection to another
 * instance if there is one. A retry changes the instance, never the colour.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Colour } from '../../config/schema.js';
import type { InstanceGroup } from './balance.js';
import { backendRequest, clientResponseHeaders } from './headers.js';
import type { BackendPools } from './pools.js';
import type { Responding } from './counters.js';
import type { RequestRecorder } from './watch.js';

/** A Server-Sent Events response (what EventSource reads): a stream a drain ends after its grace. */
const SSE = /^\s*text\/event-stream\b/i;

/** Whether the backend's raw headers (name, value, ...) say `Content-Type: text/event-stream`. */
function isEventStream(raw: Buffer[]): boolean {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 12 && name.toString('latin1').toLowerCase() === 'content-type')
      return SSE.test(raw[i + 1]!.toString('latin1'));
  }
  return false;
}

/** Errors that mean "the pooled socket died under us", worth one retry on a fresh connection. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/**
 * Errors of a connection that was never made: nothing reached the app. Refused is a process gone
 * on a live host; the others a host gone (a swarm node whose engine stopped: its overlay address
 * answers nothing, or no route is left to it).
 */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT']);

export interface ForwardTarget {
  colour: Colour;
  origin: string;
  /** The instances of the target's service in its colour (itself included): where a retry may go. */
  group: InstanceGroup<ForwardTarget>;
}

/**
 * Sends a short text answer (errors from the proxy itself), unless the client is gone. `close`:
 * end the connection afterwards (a request body was left unread, so the stream is out of sync).
 */
export function plainResponse(res: ServerResponse, status: number, text: string, colour?: Colour, close = false): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (colour !== undefined) headers['x-switchyard-env'] = colour;
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

function tooLarge(res: ServerResponse, max: number, colour: Colour): void {
  plainResponse(
    res,
    413,
    `Payload Too Large: the request body is larger than ${max} bytes (proxy.maxBodySize)`,
    colour,
    true,
  );
}

/**
 * Watches a chunked body on its way to the backend; past `max` bytes it stops reading and fails the backend request.
 */
class BodyLimit extends Transform {
  exceeded = false;
  private seen = 0;

  constructor(
    private readonly req: IncomingMessage,
    readonly max: number,
  ) {
    super();
    req.pipe(this);
    // The client went away before the end: let undici see the body fail rather than wait for it.
    req.once('close', () => {
      if (!req.complete && !this.destroyed) this.destroy(new Error('client closed'));
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.seen += chunk.length;
    if (this.seen <= this.max) {
      cb(null, chunk);
      return;
    }
    this.exceeded = true;
    // Stop reading the rest: the answer is 413 and the connection closes after it.
    this.req.unpipe(this);
    this.req.pause();
    cb(new Error(`request body larger than ${this.max} bytes`));
  }
}

const kHandler = Symbol('switchyard.forward');
type Tagged = ServerResponse & { [kHandler]?: ForwardHandler };

/** The client side ended (finished or went away): count it and stop the backend request. */
function onClientClose(this: Tagged): void {
  const h = this[kHandler];
  if (h !== undefined) h.clientClosed();
}

function onClientDrain(this: Tagged): void {
  this[kHandler]?.resumeBackend();
}

class ForwardHandler implements Responding, Dispatcher.DispatchHandler {
  private abortFn: ((err?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private started = false;
  private retried = false;
  /** The instances tried so far, once a retry went to another one. */
  private tried: ForwardTarget[] | undefined;
  private done = false;
  private oneOff: { close(): Promise<void> } | undefined;
  /** The backend gave no (complete) answer: the proxy answered 502/504 itself or cut the response. */
  private failed = false;
  /** performance.now() at the start, only while counting (-1 otherwise). */
  private readonly t0: number;
  /** The response is `text/event-stream` (set when its headers went out, with `fo.responses`). */
  sse = false;
  /** endStream() ended it: what the backend still sends or says is dropped. */
  private ending = false;

  constructor(
    private readonly res: Tagged,
    private readonly opts: Dispatcher.DispatchOptions,
    private target: ForwardTarget,
    private readonly pools: BackendPools,
    private readonly onEnd: (colour: Colour) => void,
    private readonly fo: ForwardOptions,
    private readonly limit?: BodyLimit,
  ) {
    this.t0 = fo.recorder === undefined ? -1 : performance.now();
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.done) abort(new Error('client closed'));
    else this.abortFn = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    this.started = true;
    this.resume = resume;
    this.target.group.markUp(this.target);
    const res = this.res;
    if (res.destroyed) return false;
    try {
      res.writeHead(status, statusText, clientResponseHeaders(raw, this.target.colour, this.fo.extraHeaders));
    } catch (err) {
      // Headers Node refuses to send (invalid characters): nothing went out, so a 502 still can.
      this.started = false;
      throw err;
    }
    if (this.fo.responses) {
      this.sse = isEventStream(raw);
      this.fo.responses.responseStarted(this.target.colour, this);
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.ending) return true;
    const ok = this.res.write(chunk);
    if (!ok) this.res.once('drain', onClientDrain);
    return ok;
  }

  onComplete(): void {
    this.releaseOneOff();
    if (this.ending) return;
    // Backend trailers are dropped: Node would need them declared before the body started.
    this.res.end();
  }

  /**
   * A drain's stream grace is over: the client's response ends cleanly (an SSE client then
   * reconnects, to the live colour) and the backend's request is aborted. Not a failure.
   */
  endStream(): void {
    if (this.done || this.ending) return;
    this.ending = true;
    this.abortFn?.(new Error('stream ended by a drain'));
    this.res.end();
  }

  onError(err: Error): void {
    this.releaseOneOff();
    if (this.done || this.ending) return;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    // Nothing reached the app: new requests skip this instance for a while (with a body too).
    if (NOT_CONNECTED.has(code)) this.target.group.markDown(this.target);
    if (!this.started && this.opts.body == null && this.retry(code)) return;
    if (this.started) {
      // Part of the response already went out: only a broken connection tells the client.
      this.failed = true;
      this.res.destroy(err);
      return;
    }
    if (this.limit?.exceeded) {
      tooLarge(this.res, this.limit.max, this.target.colour);
      return;
    }
    const timeout = code === 'UND_ERR_HEADERS_TIMEOUT';
    this.failed = true;
    plainResponse(
      this.res,
      timeout ? 504 : 502,
      timeout ? 'Gateway Timeout: the backend did not answer in time' : 'Bad Gateway: the backend is not reachable',
      this.target.colour,
    );
  }

  /** Sends the request again when `code` allows it (see the top of the file); false when it does not. */
  private retry(code: string): boolean {
    const group = this.target.group;
    if (NOT_CONNECTED.has(code)) {
      if (group.size === 1) return false;
      const next = this.another();
      if (next === undefined) return false;
      this.dispatch(this.pools.get(next.origin));
      return true;
    }
    if (this.retried || !IDEMPOTENT.has(this.opts.method) || !RESET_CODES.has(code)) return false;
    this.retried = true;
    // Several instances: the pooled socket's process likely died, so another one is a better bet.
    if (group.size > 1) this.another();
    const client = this.pools.fresh(this.target.origin);
    this.oneOff = client;
    this.dispatch(client);
    return true;
  }

  /** Moves to an instance not tried yet and not marked down (undefined, and no move, when none is left). */
  private another(): ForwardTarget | undefined {
    const tried = (this.tried ??= [this.target]);
    const next = this.target.group.another(tried);
    if (next === undefined) return undefined;
    tried.push(next);
    this.target = next;
    return next;
  }

  private dispatch(d: Dispatcher): void {
    try {
      d.dispatch(this.opts, this);
    } catch (err) {
      this.onError(err as Error);
    }
  }

  resumeBackend(): void {
    this.resume?.();
  }

  clientClosed(): void {
    if (this.done) return;
    this.done = true;
    this.res[kHandler] = undefined;
    if (this.started && this.fo.responses) this.fo.responses.responseEnded(this.target.colour, this);
    this.onEnd(this.target.colour);
    if (this.t0 >= 0) {
      // No headers went out: the client left before any answer (status 0, not an error).
      const status = this.res.headersSent ? this.res.statusCode : 0;
      const ms = performance.now() - this.t0;
      this.fo.recorder!.record(this.target.colour, status, ms, this.failed && status !== 0, this.fo.route ?? '');
    }
    if (!this.res.writableFinished) this.abortFn?.(new Error('client closed'));
  }

  private releaseOneOff(): void {
    const c = this.oneOff;
    if (c === undefined) return;
    this.oneOff = undefined;
    c.close().catch(() => {});
  }
}

/**
 * Starts forwarding `req` to `target`. `onEnd(colour)` is called exactly once, when the client
 * response is finished or the client went away: that is what drain counts.
 */
export interface ForwardOptions {
  /** Bytes; 0 = no limit. A larger announced body gets 413 at once, a larger chunked one when it gets there. */
  maxBodySize: number;
  /** The client sent `Expect: 100-continue` and waits for the go-ahead before its body. */
  expectContinue?: boolean;
  /** Extra response header pairs (name, value, ...) for a proxied answer, e.g. the canary cookie. */
  extraHeaders?: string[];
  /** Set only while counting (the live watch, the metrics): gets the request's outcome when it ends. */
  recorder?: RequestRecorder;
  /** The path of the route the request matched, as configured: what the recorder files it under. */
  route?: string;
  /** Hears when a response begins and ends (what a drain's stream grace acts on). */
  responses?: {
    responseStarted(colour: Colour, r: Responding): void;
    responseEnded(colour: Colour, r: Responding): void;
  };
}

export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: ForwardTarget,
  pools: BackendPools,
  proto: 'http' | 'https',
  onEnd: (colour: Colour) => void,
  fo: ForwardOptions = { maxBodySize: 0 },
): void {
  const { headers, hasBody, contentLength, chunked } = backendRequest(req.rawHeaders, {
    remoteAddress: req.socket.remoteAddress,
    proto,
  });
  const max = fo.maxBodySize;
  if (max > 0 && contentLength !== undefined && contentLength > max) {
    // Refused before a byte of the body is read or the backend is contacted.
    const t0 = performance.now();
    tooLarge(res, max, target.colour);
    onEnd(target.colour);
    fo.recorder?.record(target.colour, 413, performance.now() - t0, false, fo.route ?? '');
    return;
  }
  if (fo.expectContinue) res.writeContinue();
  const limit = hasBody && chunked && max > 0 ? new BodyLimit(req, max) : undefined;
  const opts: Dispatcher.DispatchOptions = {
    path: req.url ?? '/',
    method: req.method as Dispatcher.HttpMethod,
    headers,
    body: hasBody ? (limit ?? req) : null,
  };
  const tagged = res as Tagged;
  const handler = new ForwardHandler(tagged, opts, target, pools, onEnd, fo, limit);
  tagged[kHandler] = handler;
  // A shared listener, not once(): once() would allocate a wrapper per request.
  res.on('close', onClientClose);
  try {
    pools.get(target.origin).dispatch(opts, handler);
  } catch (err) {
    handler.onError(err as Error);
  }
}
