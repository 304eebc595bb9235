/** Handlers of the actions before a colour is built: the target, shared services, the proxy, backup, pull. */
import type { Action } from '../../plan/actions.js';
import { describeBackup, backupFor } from '../backup.js';
import type { Exec } from '../exec.js';
import { openProxy } from '../proxy.js';
import { gitPull } from '../pull.js';
import type { StepHandle } from '../reporter.js';

type Of<K extends Action['kind']> = Extract<Action, { kind: K }>;

export async function target(x: Exec, a: Of<'target'>, h: StepHandle): Promise<void> {
  h.ok(`${a.from} -> ${a.to}`);
  for (const l of a.info) x.e.reporter.info(l);
  for (const w of a.warnings) x.e.reporter.warn(w);
}

export async function startShared(x: Exec, _a: Of<'start-shared'>, h: StepHandle): Promise<void> {
  const start = x.e.runtime.startShared;
  if (!start) return h.skip('this runtime has no shared services');
  h.ok((await start.call(x.e.runtime, { signal: x.e.signal })).join('; '));
}

export async function startProxy(x: Exec, a: Of<'start-proxy'>, h: StepHandle): Promise<void> {
  const p = await openProxy(x.e, a.hold === undefined ? {} : { hold: a.hold });
  x.proxy = p.control;
  if (p.started) x.done.push('started the proxy');
  x.held = a.hold !== undefined && p.started && p.status.maintenance?.message === a.hold;
  const { listen } = x.e.loaded.config.proxy;
  h.ok(`${p.started ? 'started' : 'already running'} on ${listen.host}:${listen.http} (pid ${p.status.pid})`);
}

export async function backup(x: Exec, _a: Of<'backup'>, h: StepHandle): Promise<void> {
  const b = backupFor(x.e);
  if (!b) return h.skip(`no database backup configured (backup.kind: ${x.e.loaded.config.backup.kind})`);
  h.update(b.describe());
  x.backup = await b.backup({ reason: 'deploy', deployId: x.op.id, signal: x.e.signal });
  x.op.backup = x.backup.file;
  h.ok(describeBackup(x.backup));
}

export async function pull(x: Exec, _a: Of<'pull'>, h: StepHandle): Promise<void> {
  h.ok(await gitPull(x.e.paths.root, x.e.signal));
}
