/**
 * One worker of a proxy daemon with proxy.workers > 1: an ordinary ProxyServer on the shared
 * listening ports (node:cluster hands each worker its connections), started from the saved
 * snapshot and driven by the daemon over IPC. It persists nothing itself: the daemon saves each
 * change, asked by the one worker it names, before any worker applies it.
 * When the daemon goes away (even SIGKILLed), the worker stops accepting, lets what is in flight
 * finish, and exits.
 */
import { projectPaths } from '../../state/paths.js';
import { SwitchyardError } from '../../errors.js';
import { fromWire, toWire, type FromWorker, type ToWorker } from './replica-protocol.js';
import { ProxyServer } from './server.js';
import { loadSnapshot, type ProxySnapshot } from './snapshot.js';

/** In-flight requests get this long when the daemon disappears without telling us. */
export const ORPHAN_GRACE_MS = 10_000;

function send(m: FromWorker): void {
  // The daemon may be gone (then 'disconnect' ends this worker): a failed send is not an error to crash on.
  if (process.connected) process.send?.(m, undefined, undefined, () => {});
}

export async function runReplicaWorker(projectDir: string): Promise<void> {
  const paths = projectPaths(projectDir);
  // Set for the duration of one change call when this worker is the one that persists.
  let persistVia: ((snap: ProxySnapshot) => Promise<void>) | undefined;
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let persistSeq = 0;

  let proxy: ProxyServer;
  try {
    const snap = await loadSnapshot(paths.proxyState);
    if (snap === undefined) throw new SwitchyardError('PROXY_FAILED', `no proxy state at ${paths.proxyState}`);
    proxy = await ProxyServer.start(snap, { persist: (s) => persistVia?.(s) ?? Promise.resolve() });
  } catch (err) {
    send({ kind: 'start-failed', error: toWire(err) });
    process.disconnect?.();
    return;
  }

  let closing: Promise<void> | undefined;
  const close = (graceMs: number) => (closing ??= proxy.close(graceMs));
  const done = new Promise<void>((resolve) => {
    process.on('disconnect', () => void close(ORPHAN_GRACE_MS).finally(resolve));
    // Stopped by hand (or with its whole process group): finish what is in flight, then exit; the
    // daemon, if it is still there, starts a replacement.
    process.once('SIGTERM', () => void close(ORPHAN_GRACE_MS).finally(() => (process.disconnect?.(), resolve())));
    process.on('message', (m: ToWorker) => {
      if (m.kind === 'close') void close(m.graceMs).finally(() => (process.disconnect?.(), resolve()));
      else if (m.kind === 'persisted') {
        const p = pending.get(m.id);
        pending.delete(m.id);
        if (m.error) p?.reject(fromWire(m.error));
        else p?.resolve();
      } else if (m.kind === 'call') void handleCall(m);
    });
  });

  async function handleCall(m: Extract<ToWorker, { kind: 'call' }>): Promise<void> {
    if (m.persist) {
      persistVia = (snap) =>
        new Promise<void>((resolve, reject) => {
          const id = ++persistSeq;
          pending.set(id, { resolve, reject });
          send({ kind: 'persist', id, snap });
        });
    }
    try {
      const fn = (proxy[m.method] as (...a: unknown[]) => Promise<unknown>).bind(proxy);
      const value = await fn(...m.args);
      send({ kind: 'reply', id: m.id, value });
    } catch (err) {
      send({ kind: 'reply', id: m.id, error: toWire(err) });
    } finally {
      if (m.persist) persistVia = undefined;
    }
  }

  const pv = proxy.previewAddress;
  send({ kind: 'ready', address: proxy.address, ...(pv === undefined ? {} : { preview: pv }) });
  await done;
}
