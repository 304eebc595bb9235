/**
 * The tunnel's far end (docs/swarm.md, "Where the control channel listens"), run as
 * `switchyard tunnel-relay` in a short-lived container on the project's overlay network: frames
 * come in on stdin and go out on stdout (tunnel-protocol.ts). READY first; each OPEN connects to
 * its host:port inside the overlay and answers OPENED, or CLOSE with the error; then bytes flow
 * both ways (tunnel-streams.ts). When stdin ends (the CLI closed it, or went away and the engine
 * closed it for it) every connection is dropped and the relay returns, so its container ends.
 */
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { FrameDecoder, FrameType, encode, parseTarget, type Frame } from './tunnel-protocol.js';
import { TunnelStreams } from './tunnel-streams.js';

/** How long a connection to a task may take before the stream is refused. */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface RelayOptions {
  /** Ends the relay as an end of stdin does (the CLI's SIGTERM handler aborts it). */
  signal?: AbortSignal;
  connectTimeoutMs?: number;
}

export function runTunnelRelay(input: Readable, output: Writable, o: RelayOptions = {}): Promise<void> {
  const streams = new TunnelStreams(output);
  const decoder = new FrameDecoder();
  const connectTimeout = o.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;

  function open(f: Frame): void {
    const target = parseTarget(f.payload);
    if (f.id === 0 || streams.has(f.id) || !target) {
      const why = !target ? 'a host and a port 1..65535 are needed' : `stream ${f.id} cannot be opened`;
      streams.send(encode(FrameType.CLOSE, f.id, why));
      return;
    }
    const { host, port } = target;
    const socket = net.connect({ host, port, allowHalfOpen: true });
    socket.setNoDelay(true);
    socket.setTimeout(connectTimeout, () =>
      streams.fail(f.id, `connect ETIMEDOUT ${host}:${port} (no answer within ${connectTimeout / 1000} s)`),
    );
    socket.once('connect', () => {
      socket.setTimeout(0);
      if (streams.has(f.id)) streams.send(encode(FrameType.OPENED, f.id));
    });
    streams.add(f.id, socket);
  }

  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      o.signal?.removeEventListener('abort', onAbort);
      input.off('data', onData);
      streams.destroyAll();
      input.destroy();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => finish();
    const onData = (chunk: Buffer) => {
      try {
        for (const f of decoder.feed(chunk)) {
          if (f.type === FrameType.OPEN) open(f);
          else streams.handle(f);
        }
      } catch (e) {
        finish(new Error(`tunnel relay: ${(e as Error).message}`));
      }
    };
    if (o.signal?.aborted) return finish();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    input.on('data', onData);
    input.once('end', () => finish());
    input.once('close', () => finish());
    // stdin failing (the engine closed the pipe) is the CLI going away as well.
    input.once('error', () => finish());
    // Nothing more can be sent: the relay has no one to talk to.
    output.once('error', () => finish());
    streams.send(encode(FrameType.READY, 0));
  });
}
