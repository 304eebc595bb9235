/**
 * The nginx config's part for streams (docs/traffic.md#streams): which requests are streams, the
 * upstream they go to, and the source address they come from.
 */
import type { Colour } from '../../config/schema.js';
import type { Backends } from '../types.js';
import { STREAM_BIND } from './drain-count.js';

export const STREAM_SUFFIX = '_stream';

/**
 * Stream requests (SSE by their `Accept`, WebSockets by their `Upgrade`) go to the colour's
 * stream upstream; with every backend on loopback, from a source address of their own, so that a
 * drain can leave them to the colour's stop after deploy.streamGrace (drain-count.ts).
 */
export function streamMaps(bind: boolean): string[] {
  return [
    '  # Streams (SSE, WebSocket) use connections of their own: docs/traffic.md#streams.',
    '  map $http_accept $sy_sse {',
    '    default 0;',
    '    ~*text/event-stream 1;',
    '  }',
    '  map $http_upgrade$sy_sse $sy_stream {',
    '    default websocket;',
    "    0 '';",
    '    1 sse;',
    '  }',
    '  map $sy_stream $sy_stream_upstream {',
    '    default ' + STREAM_SUFFIX + ';',
    "    '' '';",
    '  }',
    ...(bind
      ? [
          '  map $sy_stream $sy_stream_bind {',
          "    default '';",
          `    sse ${STREAM_BIND.sse};`,
          `    websocket ${STREAM_BIND.websocket};`,
          '  }',
        ]
      : []),
  ];
}

/** Source addresses work only towards loopback backends: all of them must be on 127/8. */
export function loopbackBackends(backends: Partial<Record<Colour, Backends>>): boolean {
  return Object.values(backends).every((b) =>
    Object.values(b ?? {}).every((list) => list.every((e) => /^127\.\d+\.\d+\.\d+$/.test(e.host))),
  );
}
