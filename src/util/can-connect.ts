/** Whether a TCP connection to host:port opens within the timeout (a wildcard host is asked on loopback). */
import net from 'node:net';

export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new Promise((resolve) => {
    const s = net.connect({ host: h, port });
    const done = (v: boolean) => (s.destroy(), resolve(v));
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
