/**
 * The CLI's way into a swarm's overlay network (docs/swarm.md, "Where the control channel
 * listens"): the colour tasks and the edge proxies listen only there, and the CLI has only the
 * manager's API. openTunnel starts a relay container on the manager, on the overlay
 * (tunnel-container.ts), holds its stdin and stdout through the API, and offers loopback forwards:
 * `forward(host, port)` gives a 127.0.0.1 port whose every connection is carried through the relay
 * to host:port inside the overlay (tunnel-protocol.ts, tunnel-streams.ts). A connection the relay
 * cannot make is reset at once, never left hanging. close() stops it all and leaves no container.
 */
import net from 'node:net';
import type Docker from 'dockerode';
import { SwitchyardError, errorMessage } from '../../errors.js';
import { Collector, demuxStream } from '../docker/index.js';
import { FrameDecoder, FrameType, MAX_STREAM_ID, encode, type Frame } from './tunnel-protocol.js';
import { TunnelStreams, reset } from './tunnel-streams.js';
import { ensureImageOnManager, removeRelayContainer, startRelayContainer } from './tunnel-container.js';
import { managerTarget } from './client.js';

/** How long the relay has to say READY once started. */
export const READY_TIMEOUT_MS = 30_000;
/** After stdin is closed, how long the relay has to exit (and AutoRemove to act) before a forced removal. */
const EXIT_GRACE_MS = 3_000;

export interface Tunnel {
  /** The relay container's id on the manager. */
  readonly container: string;
  /** A loopback address whose connections reach host:port inside the overlay (one per host:port). */
  forward(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Closes every forward and connection; the relay container is gone when it returns. */
  close(): Promise<void>;
}

export interface TunnelOptions {
  app: string;
  /** switchyard's own image (edge-image.ts), pinned by digest. */
  image: string;
  /** The project's overlay network (attachable). */
  network: string;
  /** Aborting it stops the opening, or closes the open tunnel. */
  signal?: AbortSignal;
}

export async function openTunnel(manager: Docker, o: TunnelOptions): Promise<Tunnel> {
  const aborted = () => new SwitchyardError('ABORTED', 'opening the tunnel into the swarm was interrupted');
  if (o.signal?.aborted) throw aborted();
  await ensureImageOnManager(manager, o.image, o.signal);
  if (o.signal?.aborted) throw aborted();
  const relay = await startRelayContainer(manager, o);
  const { socket } = relay;
  const streams = new TunnelStreams(socket);
  const decoder = new FrameDecoder();
  const stderr = new Collector(16 * 1024, 'tail');
  const servers = new Map<string, Promise<net.Server>>();
  const listening = new Set<net.Server>();
  let nextId = 1;
  let broken: SwitchyardError | undefined;
  let closing: Promise<void> | undefined;
  let ready: (() => void) | undefined;
  let isReady = false;
  const target = managerTarget(manager);
  const notRelay = {
    hint: `${o.image} must be switchyard's own image (its entrypoint \`node /opt/switchyard/dist/switchyard.mjs\`)`,
  };
  let fail: ((e: SwitchyardError) => void) | undefined;

  const relayWords = () => {
    const text = stderr.text().trim();
    return text ? `; the relay said: ${text}` : '';
  };
  /** The relay is gone or talks nonsense: every connection and forward ends. */
  const breakDown = (why: string) => {
    if (broken) return;
    broken = isReady
      ? new SwitchyardError('START_FAILED', `the tunnel into ${o.network} broke: ${why}${relayWords()}`)
      : new SwitchyardError(
          'START_FAILED',
          `the tunnel relay on the swarm manager at ${target} ended before it was ready: ${why}${relayWords()}`,
          notRelay,
        );
    streams.destroyAll();
    for (const s of listening) s.close();
    fail?.(broken);
  };
  const onFrame = (f: Frame) => {
    if (f.type === FrameType.READY) {
      isReady = true;
      ready?.();
    } else if (f.type !== FrameType.OPENED) streams.handle(f);
  };
  socket.on('error', () => undefined);
  const pumping = demuxStream(
    socket,
    (b) => {
      if (broken) return;
      try {
        for (const f of decoder.feed(b)) onFrame(f);
      } catch (e) {
        breakDown(errorMessage(e));
        socket.destroy();
      }
    },
    (b) => stderr.add(b),
  ).then(
    () => breakDown(closing ? 'closed' : 'the relay exited'),
    (e: unknown) => breakDown(closing ? 'closed' : `the connection to the manager ended: ${errorMessage(e)}`),
  );

  /** `graceMs`: how long the relay may take to exit by itself (none when it never got going). */
  const shutdown = (graceMs: number): Promise<void> => {
    closing ??= (async () => {
      o.signal?.removeEventListener('abort', onAbort);
      for (const s of listening) s.close();
      streams.destroyAll();
      // The relay sees its stdin end and exits; the engine removes its container (AutoRemove).
      socket.end();
      await Promise.race([pumping, new Promise((r) => setTimeout(r, graceMs))]);
      socket.destroy();
      await removeRelayContainer(manager, relay.id, graceMs);
    })();
    return closing;
  };
  const close = () => shutdown(EXIT_GRACE_MS);
  const onAbort = () => void close().catch(() => undefined);

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new SwitchyardError(
              'START_FAILED',
              `the tunnel relay on the swarm manager at ${target} was not ready within ` +
                `${READY_TIMEOUT_MS / 1000} s${relayWords()}`,
              notRelay,
            ),
          ),
        READY_TIMEOUT_MS,
      );
      const stop = () => (clearTimeout(timer), o.signal?.removeEventListener('abort', abort));
      const abort = () => (stop(), reject(aborted()));
      ready = () => (stop(), resolve());
      fail = (e) => (stop(), reject(e));
      o.signal?.addEventListener('abort', abort, { once: true });
      if (broken) fail(broken);
      else if (o.signal?.aborted) abort();
      else if (isReady) ready();
    });
  } catch (e) {
    await shutdown(0).catch(() => undefined);
    throw e;
  } finally {
    ready = undefined;
    fail = undefined;
  }
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const accept = (host: string, port: number) => (local: net.Socket) => {
    if (broken || closing || nextId > MAX_STREAM_ID) return reset(local);
    local.setNoDelay(true);
    const id = nextId++;
    streams.send(encode(FrameType.OPEN, id, JSON.stringify({ host, port })));
    streams.add(id, local);
  };

  const listen = async (host: string, port: number): Promise<net.Server> => {
    const server = net.createServer({ allowHalfOpen: true }, accept(host, port));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => (server.off('error', reject), resolve()));
    });
    listening.add(server);
    if (broken || closing) server.close();
    return server;
  };

  return {
    container: relay.id,
    async forward(host, port) {
      if (typeof host !== 'string' || host.length === 0 || !Number.isInteger(port) || port < 1 || port > 65535)
        throw new SwitchyardError('USAGE', `a tunnel forward needs a host and a port 1..65535, not ${host}:${port}`);
      if (closing) throw new SwitchyardError('START_FAILED', `the tunnel into ${o.network} is closed`);
      if (broken) throw broken;
      const key = `${host}:${port}`;
      let server = servers.get(key);
      if (!server) {
        server = listen(host, port);
        servers.set(key, server);
        server.catch(() => servers.delete(key));
      }
      const address = (await server).address() as net.AddressInfo;
      return { host: '127.0.0.1', port: address.port };
    },
    close,
  };
}
