/**
 * Preview of the inactive colour: the optional second listener (features.preview) and the
 * header/cookie matcher on the public listener (features.previewMatch).
 */
import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { PreviewMatch } from '../features.js';
import { bind } from './listen.js';
import type { Listen } from './snapshot.js';
import { cookieFromRaw, headerValuesFromRaw } from './sticky.js';

export const NO_PREVIEW_TEXT = 'Service Unavailable: no colour to preview';

function sameToken(a: string, b: Buffer): boolean {
  const x = Buffer.from(a, 'latin1');
  return x.length === b.length && timingSafeEqual(x, b);
}

/** Whether a public request asks for the inactive colour (right header or cookie value). */
export class PreviewMatcher {
  private readonly header: string | undefined;
  private readonly cookie: string | undefined;
  private readonly token: Buffer;

  constructor(m: PreviewMatch) {
    this.header = m.header?.toLowerCase();
    this.cookie = m.cookie;
    this.token = Buffer.from(m.token, 'latin1');
  }

  matches(raw: string[]): boolean {
    if (this.header !== undefined) {
      for (const v of headerValuesFromRaw(raw, this.header)) if (sameToken(v.trim(), this.token)) return true;
    }
    if (this.cookie !== undefined) {
      const v = cookieFromRaw(raw, this.cookie);
      if (v !== undefined && sameToken(v, this.token)) return true;
    }
    return false;
  }
}

export interface PreviewChange {
  /** Makes the prepared listener the current one (closes the one it replaces). Synchronous. */
  commit(): void;
  /** Undoes prepare (the change was not persisted). */
  rollback(): Promise<void>;
}

const NOTHING: PreviewChange = { commit: () => {}, rollback: async () => {} };
const WHAT = 'preview listener';
const SETTING = 'proxy.listen.preview';

function closeGracefully(server: http.Server): void {
  // Stops accepting at once; requests under way finish, idle keep-alive connections go now.
  server.close();
  server.closeIdleConnections();
}

function closeHard(server: http.Server): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  server.closeAllConnections();
  return closed;
}

/** The preview listener, if any. A change binds the new one before the old one goes. */
export class PreviewSlot {
  private server: http.Server | undefined;
  private at: Listen | undefined;

  constructor(private readonly make: () => http.Server) {}

  /** The address actually bound, or undefined when there is no preview listener. */
  get address(): Listen | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  /** Binds what `want` asks for. Fails with PORT_IN_USE leaving the current listener as it was. */
  async prepare(want: Listen | null): Promise<PreviewChange> {
    const old = this.server;
    const oldAt = this.at;
    if (want === null)
      return old === undefined
        ? NOTHING
        : { commit: () => this.replace(undefined, undefined), rollback: async () => {} };
    if (oldAt !== undefined && oldAt.host === want.host && oldAt.port === want.port) return NOTHING;
    const next = this.make();
    let freedOld = false;
    try {
      await bind(next, want.host, want.port, WHAT, SETTING);
    } catch (err) {
      // Same port on another address: the old listener may be what holds it. Free it and retry once.
      if (
        old === undefined ||
        oldAt === undefined ||
        oldAt.port !== want.port ||
        (err as { code?: string }).code !== 'PORT_IN_USE'
      )
        throw err;
      await closeHard(old);
      freedOld = true;
      try {
        await bind(next, want.host, want.port, WHAT, SETTING);
      } catch (again) {
        await bind(old, oldAt.host, oldAt.port, WHAT, SETTING).catch(() => (this.server = this.at = undefined));
        throw again;
      }
    }
    return {
      commit: () => this.replace(next, want, freedOld),
      rollback: async () => {
        await closeHard(next);
        if (freedOld && old !== undefined && oldAt !== undefined)
          await bind(old, oldAt.host, oldAt.port, WHAT, SETTING).catch(() => (this.server = this.at = undefined));
      },
    };
  }

  private replace(server: http.Server | undefined, at: Listen | undefined, oldClosed = false): void {
    const old = this.server;
    this.server = server;
    this.at = at === undefined ? undefined : { ...at };
    if (old !== undefined && !oldClosed) closeGracefully(old);
  }

  /** Stops accepting (close() of the proxy); `hard` also cuts the connections still open. */
  async close(hard: boolean): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    if (!hard) return closeGracefully(s);
    this.server = this.at = undefined;
    await closeHard(s);
  }
}
