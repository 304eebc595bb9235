/**
 * WebSocket relay. Both sides are terminated with `ws` (rather than piping raw sockets) so that a
 * drain can send a real close frame with code 1001 to the client and to the backend. The backend
 * is connected first, so the client is only accepted with the subprotocol the backend chose.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Colour } from '../../config/schema.js';
import type { Closable, Counters } from './counters.js';
import { backendUpgradeHeaders } from './headers.js';
import type { Target } from './table.js';

export const WS_HANDSHAKE_TIMEOUT_MS = 10_000;
export const WS_MAX_PAYLOAD = 64 * 1024 * 1024;
const kProtocol = Symbol('switchyard.ws.protocol');
const kExtra = Symbol('switchyard.ws.extra');
type Tagged = IncomingMessage & { [kProtocol]?: string; [kExtra]?: string[] };

/** One shared acceptor; the protocol to accept travels on the request object. */
const acceptor = new WebSocketServer({
  noServer: true,
  autoPong: false,
  perMessageDeflate: false,
  maxPayload: WS_MAX_PAYLOAD,
  handleProtocols: (_offered, req) => (req as Tagged)[kProtocol] || false,
});
// Extra header pairs for the 101 (the canary cookie), carried on the request like the protocol.
acceptor.on('headers', (headers: string[], req: IncomingMessage) => {
  const extra = (req as Tagged)[kExtra];
  if (extra !== undefined) for (let i = 0; i < extra.length; i += 2) headers.push(`${extra[i]}: ${extra[i + 1]}`);
});

/** An HTTP answer on a socket that asked for an upgrade and will not get one. */
export function rejectUpgrade(socket: Duplex, status: number, text: string, colour?: Colour): void {
  if (socket.destroyed) return;
  const body = `${text}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  if (colour !== undefined) lines.push(`X-Switchyard-Env: ${colour}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** Close codes that may not be sent on the wire are replaced by a plain close. */
function sendable(code: number): number | undefined {
  return code === 1005 || code === 1006 || code === 1015 ? undefined : code;
}

function closeQuietly(ws: WebSocket, code: number, reason: Buffer | string): void {
  if (ws.readyState === WebSocket.CLOSED || ws.readyState === WebSocket.CLOSING) return;
  const c = sendable(code);
  try {
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else if (c === undefined) ws.close();
    else ws.close(c, reason);
  } catch {
    ws.terminate();
  }
}

function relay(from: WebSocket, to: WebSocket): void {
  from.on('message', (data: RawData, isBinary: boolean) => {
    if (to.readyState === WebSocket.OPEN) to.send(data, { binary: isBinary });
  });
  from.on('ping', (data) => {
    if (to.readyState === WebSocket.OPEN) to.ping(data);
  });
  from.on('pong', (data) => {
    if (to.readyState === WebSocket.OPEN) to.pong(data);
  });
  from.on('close', (code, reason) => closeQuietly(to, code, reason));
  from.on('error', () => to.terminate());
}

/**
 * Relays the upgrade `req` to an instance of `target`'s service, starting with `target` (picked
 * round robin by decide()); when that one refuses the connection, the next instance not marked
 * down is tried (each at most once), as forward.ts does for requests.
 */
export function proxyWebSocket(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: Target,
  proto: 'http' | 'https',
  counters: Counters,
  extraHeaders?: string[],
): void {
  if (extraHeaders !== undefined) (req as Tagged)[kExtra] = extraHeaders;
  const colour = target.colour;
  const offered = (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  let backend: WebSocket;
  let tried: Target[] | undefined;
  const onClientGone = () => backend.terminate();
  socket.once('close', onClientGone);
  socket.on('error', () => {});

  /** Another instance to try after `t` refused the connection, or undefined. */
  const another = (t: Target): Target | undefined => {
    if (t.group.size === 1 || socket.destroyed) return undefined;
    t.group.markDown(t);
    tried ??= [t];
    const next = t.group.another(tried);
    if (next !== undefined) tried.push(next);
    return next;
  };

  const connect = (t: Target): void => {
    const b = new WebSocket(t.ws + (req.url ?? '/'), offered, {
      headers: backendUpgradeHeaders(req.rawHeaders, { remoteAddress: req.socket.remoteAddress, proto }),
      perMessageDeflate: false,
      autoPong: false,
      handshakeTimeout: WS_HANDSHAKE_TIMEOUT_MS,
      maxPayload: WS_MAX_PAYLOAD,
      followRedirects: false,
    });
    backend = b;
    // Messages the backend sends before the client is accepted are held, not lost.
    const early: Array<[RawData, boolean]> = [];
    const hold = (data: RawData, isBinary: boolean) => early.push([data, isBinary]);
    b.on('message', hold);

    b.once('unexpected-response', (_r, res) => {
      rejectUpgrade(
        socket,
        res.statusCode ?? 502,
        `the backend refused the WebSocket upgrade (${res.statusCode})`,
        colour,
      );
      res.resume();
      b.terminate();
    });
    let accepted = false;
    b.on('error', (err: NodeJS.ErrnoException) => {
      if (accepted) return;
      const next = err.code === 'ECONNREFUSED' ? another(t) : undefined;
      if (next !== undefined) connect(next);
      else rejectUpgrade(socket, 502, 'Bad Gateway: the backend WebSocket is not reachable', colour);
    });

    b.once('open', () => {
      t.group.markUp(t);
      socket.off('close', onClientGone);
      if (socket.destroyed) {
        b.terminate();
        return;
      }
      (req as Tagged)[kProtocol] = b.protocol;
      accepted = true;
      let relaying = false;
      // The acceptor may refuse a malformed handshake without calling back: drop the backend then.
      socket.once('close', () => {
        if (!relaying) b.terminate();
      });
      acceptor.handleUpgrade(req, socket, head, (client) => {
        relaying = true;
        b.off('message', hold);
        const pair: Closable = {
          close: (code, reason) => {
            closeQuietly(client, code, reason);
            closeQuietly(b, code, reason);
          },
        };
        counters.addSocket(colour, pair);
        const forget = () => counters.removeSocket(colour, pair);
        client.once('close', forget);
        b.once('close', forget);
        relay(client, b);
        relay(b, client);
        for (const [data, isBinary] of early) client.send(data, { binary: isBinary });
        early.length = 0;
        if (b.readyState !== WebSocket.OPEN) closeQuietly(client, 1011, 'backend closed');
      });
    });
  };
  connect(target);
}
