/**
 * Keep-alive connection pools to backends, one undici Pool per backend address. A drained
 * colour's pools are closed (idle sockets go at once, busy ones after their response) so the
 * old processes can exit promptly; a later request to the same address simply gets a new pool.
 */
import { Client, Pool } from 'undici';

/**
 * Below Node's default server keepAliveTimeout (5 s): we close an idle socket before the backend
 * does, which keeps the reuse-after-close race rare (the forwarder retries the rest).
 */
export const BACKEND_KEEPALIVE_MS = 4_000;
/** A backend that accepted the request but sends no headers for this long gets a 504. */
export const BACKEND_HEADERS_TIMEOUT_MS = 60_000;
export const BACKEND_CONNECT_TIMEOUT_MS = 5_000;

const dispatcherOptions = {
  pipelining: 1,
  keepAliveTimeout: BACKEND_KEEPALIVE_MS,
  keepAliveMaxTimeout: BACKEND_KEEPALIVE_MS,
  headersTimeout: BACKEND_HEADERS_TIMEOUT_MS,
  // Streams (SSE, long downloads) may be quiet for a long time; the client decides when to stop.
  bodyTimeout: 0,
  connectTimeout: BACKEND_CONNECT_TIMEOUT_MS,
} as const;

export class BackendPools {
  private readonly pools = new Map<string, Pool>();

  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, dispatcherOptions);
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** A one-off connection for a retry, so it cannot land on another stale pooled socket. */
  fresh(origin: string): Client {
    return new Client(origin, dispatcherOptions);
  }

  /** Closes the pools of these origins; idle sockets close now, busy ones when their response ends. */
  close(origins: Iterable<string>): void {
    for (const origin of origins) {
      const pool = this.pools.get(origin);
      if (pool === undefined) continue;
      this.pools.delete(origin);
      pool.close().catch(() => {});
    }
  }

  async destroyAll(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(all.map((p) => p.destroy()));
  }
}
