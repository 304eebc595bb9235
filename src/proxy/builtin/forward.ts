/**
 * Forwards one HTTP request to a backend with undici's low-level dispatch API: the response is
 * written straight to the client as it arrives (no buffering, no intermediate stream objects),
 * with backpressure in both directions. This was the fastest correct option measured (see
 * bench/proxy-throughput.mjs and the report in the README design section).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Colour } from '../../config/schema.js';
import { backendRequest, clientResponseHeaders } from './headers.js';
import type { BackendPools } from './pools.js';

/** Errors that mean "the pooled socket died under us", worth one retry on a fresh connection. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface ForwardTarget {
  colour: Colour;
  origin: string;
}

/** Sends a short text answer (errors from the proxy itself), unless the client is gone. */
export function plainResponse(res: ServerResponse, status: number, text: string, colour?: Colour): void {
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
  res.writeHead(status, headers);
  res.end(body);
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

class ForwardHandler implements Dispatcher.DispatchHandler {
  private abortFn: ((err?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private started = false;
  private retried = false;
  private done = false;
  private oneOff: { close(): Promise<void> } | undefined;

  constructor(
    private readonly res: Tagged,
    private readonly opts: Dispatcher.DispatchOptions,
    private readonly target: ForwardTarget,
    private readonly pools: BackendPools,
    private readonly onEnd: (colour: Colour) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    if (this.done) abort(new Error('client closed'));
    else this.abortFn = abort;
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    this.started = true;
    this.resume = resume;
    const res = this.res;
    if (res.destroyed) return false;
    try {
      res.writeHead(status, statusText, clientResponseHeaders(raw, this.target.colour));
    } catch (err) {
      // Headers Node refuses to send (invalid characters): nothing went out, so a 502 still can.
      this.started = false;
      throw err;
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    const ok = this.res.write(chunk);
    if (!ok) this.res.once('drain', onClientDrain);
    return ok;
  }

  onComplete(): void {
    // Backend trailers are dropped: Node would need them declared before the body started.
    this.res.end();
    this.releaseOneOff();
  }

  onError(err: Error): void {
    this.releaseOneOff();
    if (this.done) return;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!this.started && !this.retried && this.opts.body == null && IDEMPOTENT.has(this.opts.method) && RESET_CODES.has(code)) {
      this.retried = true;
      const client = this.pools.fresh(this.target.origin);
      this.oneOff = client;
      client.dispatch(this.opts, this);
      return;
    }
    if (this.started) {
      // Part of the response already went out: only a broken connection tells the client.
      this.res.destroy(err);
      return;
    }
    const timeout = code === 'UND_ERR_HEADERS_TIMEOUT';
    plainResponse(this.res, timeout ? 504 : 502, timeout ? 'Gateway Timeout: the backend did not answer in time' : 'Bad Gateway: the backend is not reachable', this.target.colour);
  }

  resumeBackend(): void {
    this.resume?.();
  }

  clientClosed(): void {
    if (this.done) return;
    this.done = true;
    this.res[kHandler] = undefined;
    this.onEnd(this.target.colour);
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
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: ForwardTarget,
  pools: BackendPools,
  proto: 'http' | 'https',
  onEnd: (colour: Colour) => void,
): void {
  const { headers, hasBody } = backendRequest(req.rawHeaders, { remoteAddress: req.socket.remoteAddress, proto });
  const opts: Dispatcher.DispatchOptions = {
    path: req.url ?? '/',
    method: req.method as Dispatcher.HttpMethod,
    headers,
    body: hasBody ? req : null,
  };
  const tagged = res as Tagged;
  const handler = new ForwardHandler(tagged, opts, target, pools, onEnd);
  tagged[kHandler] = handler;
  // A shared listener, not once(): once() would allocate a wrapper per request.
  res.on('close', onClientClose);
  try {
    pools.get(target.origin).dispatch(opts, handler);
  } catch (err) {
    handler.onError(err as Error);
  }
}
