/**
 * A bounded keep-alive load through the proxy, recording every response's status and colour
 * (X-Switchyard-Env). Used by the demo and by the zero-downtime tests; never unbounded: it stops at
 * maxRequests or maxMs, whichever comes first. Only for loopback targets.
 */
import { Pool } from 'undici';

export interface LoadOptions {
  method?: string;
  /** Origin, e.g. http://127.0.0.1:8080 (loopback only). */
  origin: string;
  path: string;
  connections?: number;
  maxRequests: number;
  maxMs: number;
}

export interface LoadSample {
  /** When the request was sent, ms since the load started. */
  at: number;
  /** When its answer (or its failure) came, ms since the load started. */
  end?: number;
  status: number;
  colour: string | undefined;
  error?: string;
}

export interface LoadTotals {
  sent: number;
  /** Answered 2xx; anything else (3xx included) counts as failed. */
  ok: number;
  failed: number;
  byColour: Record<string, number>;
  errors: Record<string, number>;
  ms: number;
  /** Epoch ms when the load started; sample.at is relative to it. */
  startedAt: number;
  samples: LoadSample[];
}

export interface RunningLoad {
  /** Stops issuing new requests and waits for those in flight. */
  stop(): Promise<LoadTotals>;
  readonly done: Promise<LoadTotals>;
  readonly sent: number;
}

export function assertLoopback(origin: string): void {
  const host = new URL(origin).hostname;
  if (!/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(host))
    throw new Error(`load targets must be loopback addresses, got ${host}`);
}

export function startLoad(opts: LoadOptions): RunningLoad {
  assertLoopback(opts.origin);
  const pool = new Pool(opts.origin, { connections: opts.connections ?? 8, keepAliveTimeout: 10_000, pipelining: 1 });
  const started = Date.now();
  const samples: LoadSample[] = [];
  let sent = 0;
  let stopping = false;
  const deadline = setTimeout(() => (stopping = true), opts.maxMs);

  const worker = async () => {
    while (!stopping && sent < opts.maxRequests) {
      sent++;
      const at = Date.now() - started;
      try {
        const res = await pool.request({
          method: (opts.method ?? 'GET') as 'GET',
          path: opts.path,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        await res.body.dump();
        const env = res.headers['x-switchyard-env'];
        const end = Date.now() - started;
        samples.push({ at, end, status: res.statusCode, colour: typeof env === 'string' ? env : undefined });
      } catch (e) {
        samples.push({
          at,
          end: Date.now() - started,
          status: 0,
          colour: undefined,
          error: (e as NodeJS.ErrnoException).code ?? (e as Error).message,
        });
      }
    }
  };

  const done = (async () => {
    await Promise.all(Array.from({ length: opts.connections ?? 8 }, worker));
    clearTimeout(deadline);
    await pool.close();
    return summarise(samples, started, Date.now() - started);
  })();

  return {
    stop: async () => {
      stopping = true;
      return done;
    },
    done,
    get sent() {
      return sent;
    },
  };
}

export function summarise(samples: LoadSample[], startedAt: number, ms: number): LoadTotals {
  const byColour: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let ok = 0;
  for (const s of samples) {
    if (s.status >= 200 && s.status < 300)
      ok++; // zero downtime means every request answered 2xx
    else {
      const key = s.error ?? `HTTP ${s.status}`;
      errors[key] = (errors[key] ?? 0) + 1;
    }
    if (s.colour) byColour[s.colour] = (byColour[s.colour] ?? 0) + 1;
  }
  return { sent: samples.length, ok, failed: samples.length - ok, byColour, errors, ms, startedAt, samples };
}
