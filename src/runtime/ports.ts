/**
 * Port helpers for runtimes. Services only ever listen on 127.0.0.1, so that is where we test:
 * a bind test is the only reliable answer to "is it free" (a connect test misses listeners that
 * do not accept, and ports held in TIME_WAIT are fine to reuse since Node sets SO_REUSEADDR).
 */
import net from 'node:net';

export const LOOPBACK = '127.0.0.1';

function listenOnce(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** True when nothing listens on host:port (and we are allowed to bind it). */
export async function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  try {
    await close(await listenOnce(port, host));
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') return false;
    throw e;
  }
}

/**
 * A port the kernel considers free right now. There is a small window before the service binds
 * it; `avoid` keeps two services of one start from getting the same number.
 */
export async function pickFreePort(avoid: Iterable<number> = [], host = LOOPBACK): Promise<number> {
  const taken = new Set(avoid);
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = await listenOnce(0, host);
    const addr = server.address();
    await close(server);
    if (addr && typeof addr === 'object' && !taken.has(addr.port)) return addr.port;
  }
  throw new Error(`could not find a free port on ${host}`);
}
