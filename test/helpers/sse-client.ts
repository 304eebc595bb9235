/**
 * A server-sent events client that behaves like a browser's EventSource (the parts a deploy can
 * see): it parses the stream as the HTML standard says (`data:`, `event:`, `id:`, `retry:`,
 * comments, CRLF/LF/CR line ends), and when a connection ends, cleanly or not, it connects again
 * after the last `retry:` value, sending Last-Event-ID. Like a browser, it gives up for good when an
 * answer is not a 200 `text/event-stream` (`failed`). One TCP connection per stream (no keep-alive
 * agent). Every event is recorded with its arrival time and its data parsed as JSON (when it is),
 * and every connection with when it opened and closed and how it ended. Loopback only.
 */
import http from 'node:http';

/** One dispatched event, as an EventSource's `message` event would carry it. */
export interface ParsedEvent {
  /** `event:` field; `message` when there was none. */
  type: string;
  /** The `data:` lines joined with `\n`. */
  data: string;
  /** The last event ID at dispatch (`id:`), '' when none was ever set. */
  lastEventId: string;
}

/**
 * The event-stream parser: feed it decoded text in chunks of any size (a line end may be split
 * between chunks, a CR LF too); it returns the events completed by each chunk. `retry` holds the
 * last valid `retry:` value (ms), undefined until one came.
 */
export class SseParser {
  retry: number | undefined;
  lastEventId = '';
  private buffer = '';
  private data = '';
  private type = '';
  private started = false;
  /** The last chunk ended with CR: a LF starting the next one belongs to that line end. */
  private pendingCr = false;

  push(chunk: string): ParsedEvent[] {
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    const out: ParsedEvent[] = [];
    this.buffer += text;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A CR at the very end may be the first half of a CR LF: take the line, remember to skip a LF.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) this.pendingCr = true;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  private line(line: string): ParsedEvent | undefined {
    if (line === '') {
      const data = this.data;
      const type = this.type;
      this.data = '';
      this.type = '';
      if (data === '') return undefined;
      return { type: type || 'message', data: data.slice(0, -1), lastEventId: this.lastEventId };
    }
    if (line.startsWith(':')) return undefined; // a comment (keep-alive pings)
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data += `${value}\n`;
    else if (field === 'event') this.type = value;
    else if (field === 'id') {
      if (!value.includes('\0')) this.lastEventId = value;
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.retry = Number(value);
    }
    return undefined;
  }
}

export interface SseEvent extends ParsedEvent {
  /** Date.now() when the event was complete. */
  at: number;
  /** Index into `connections` of the connection it came on. */
  connection: number;
  /** `data` parsed as JSON; undefined when it is not JSON. */
  json: unknown;
}

export interface SseConnection {
  index: number;
  /** Date.now() when the request was sent. */
  startedAt: number;
  /** Date.now() when the answer's headers came (undefined: they never did). */
  openedAt?: number;
  status?: number;
  /** The proxy's X-Switchyard-Env on the answer. */
  colour?: string;
  /** Date.now() when it ended. */
  closedAt?: number;
  /**
   * How it ended: `ended` the server ended the response cleanly (the chunked stream was
   * terminated); `error` the connection failed or was cut mid-stream (`error` says how);
   * `failed` the answer was not a 200 event stream (no more reconnects, as a browser);
   * `closed` close() was called. Undefined while open.
   */
  outcome?: 'ended' | 'error' | 'failed' | 'closed';
  error?: string;
  events: number;
}

export interface SseClient {
  readonly url: string;
  readonly events: SseEvent[];
  readonly connections: SseConnection[];
  /** `connecting`, `open` or `closed` (after `failed` or close()), as EventSource.readyState. */
  readonly state: 'connecting' | 'open' | 'closed';
  /** The reconnection delay in force: the last `retry:` the server sent, else the default. */
  readonly retryMs: number;
  /** The first event (recorded already, or to come) for which `pred` holds; rejects after `timeoutMs`. */
  waitFor(pred: (e: SseEvent) => boolean, timeoutMs: number): Promise<SseEvent>;
  /** Stops: closes the open connection and never reconnects. */
  close(): void;
}

export interface SseOptions {
  /** The reconnection delay until the server sends `retry:` (a browser's is about 3 s; here 300 ms). */
  retryMs?: number;
  headers?: Record<string, string>;
}

/** Connects to `url` (http://127.0.0.1...) at once and keeps a stream open until close(). */
export function openSse(url: string, opts: SseOptions = {}): SseClient {
  const target = new URL(url);
  if (target.protocol !== 'http:' || !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(target.hostname))
    throw new Error(`openSse: loopback http URLs only, got ${url}`);
  const events: SseEvent[] = [];
  const connections: SseConnection[] = [];
  const waiters = new Set<(e: SseEvent) => void>();
  const parser = new SseParser();
  let state: SseClient['state'] = 'connecting';
  let req: http.ClientRequest | undefined;
  /** Ends the open connection's record (close() uses it: the record is complete when close() returns). */
  let endCurrent: ((outcome: 'closed') => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const retryMs = () => parser.retry ?? opts.retryMs ?? 300;

  const connect = () => {
    timer = undefined;
    if (state === 'closed') return;
    state = 'connecting';
    const conn: SseConnection = { index: connections.length, startedAt: Date.now(), events: 0 };
    connections.push(conn);
    let done = false;
    /** Ends this connection once; reconnects unless it failed or the client was closed. */
    const finish = (outcome: NonNullable<SseConnection['outcome']>, error?: string) => {
      if (done) return;
      done = true;
      conn.closedAt = Date.now();
      conn.outcome = state === 'closed' ? 'closed' : outcome;
      if (error !== undefined && conn.outcome !== 'closed') conn.error = error;
      if (req === r) req = undefined;
      endCurrent = undefined;
      if (state === 'closed') return;
      if (outcome === 'failed') {
        state = 'closed';
        return;
      }
      state = 'connecting';
      timer = setTimeout(connect, retryMs());
    };
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      'cache-control': 'no-store',
      ...opts.headers,
    };
    if (parser.lastEventId !== '') headers['last-event-id'] = parser.lastEventId;
    const r = http.request(target, { method: 'GET', headers, agent: false });
    req = r;
    endCurrent = finish;
    r.on('error', (e: NodeJS.ErrnoException) => finish('error', e.code ?? e.message));
    r.on('response', (res) => {
      conn.openedAt = Date.now();
      conn.status = res.statusCode;
      const env = res.headers['x-switchyard-env'];
      if (typeof env === 'string') conn.colour = env;
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode !== 200 || !/^text\/event-stream\b/i.test(type)) {
        res.resume();
        finish('failed', `HTTP ${res.statusCode} ${type}`);
        r.destroy();
        return;
      }
      if (state !== 'closed') state = 'open';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const p of parser.push(chunk)) {
          let json: unknown;
          try {
            json = JSON.parse(p.data);
          } catch {
            json = undefined;
          }
          const ev: SseEvent = { ...p, at: Date.now(), connection: conn.index, json };
          conn.events++;
          events.push(ev);
          for (const w of [...waiters]) w(ev);
        }
      });
      res.on('end', () => finish('ended'));
      res.on('error', (e: NodeJS.ErrnoException) => finish('error', e.code ?? e.message));
      // Cut mid-stream: 'close' without 'end' (Node may not emit an error for it).
      res.on('close', () => finish(res.complete ? 'ended' : 'error', 'aborted'));
    });
    r.end();
  };

  connect();

  return {
    url,
    events,
    connections,
    get state() {
      return state;
    },
    get retryMs() {
      return retryMs();
    },
    waitFor(pred, timeoutMs) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          waiters.delete(check);
          const last = events.at(-1);
          reject(
            new Error(
              `no matching event within ${timeoutMs} ms from ${url}: ${events.length} event(s), ` +
                `the last ${last ? JSON.stringify(last.data) : 'none'}; connections ${JSON.stringify(connections)}`,
            ),
          );
        }, timeoutMs);
        const check = (e: SseEvent) => {
          if (!pred(e)) return;
          clearTimeout(t);
          waiters.delete(check);
          resolve(e);
        };
        waiters.add(check);
      });
    },
    close() {
      state = 'closed';
      if (timer) clearTimeout(timer);
      timer = undefined;
      const r = req;
      endCurrent?.('closed');
      r?.destroy();
    },
  };
}
