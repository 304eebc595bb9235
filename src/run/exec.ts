/** What the actions of one operation share while the executor runs them (run/execute.ts). */
import type { BackupMeta } from '../backup/types.js';
import type { RollbackOn } from '../config/canary-schema.js';
import type { TrafficStats } from '../proxy/stats.js';
import type { ProxyControl } from '../proxy/types.js';
import type { State } from '../state/state.js';
import type { Engine } from './context.js';
import type { Operation } from './operation.js';
import { openProxy } from './proxy.js';

export interface Exec {
  e: Engine;
  op: Operation;
  /** Opened by the command before its first step, or by init's start-proxy step. */
  proxy?: ProxyControl;
  /** The backup this operation took (the migration's environment and the state record name it). */
  backup?: BackupMeta;
  /** state.json right before the switch: a failed watch after the switch puts it back. */
  before?: State;
  /** The live watch (deploy.rollbackOn): the figures when counting began, and the thresholds. */
  watch?: { since: TrafficStats; thresholds: RollbackOn };
  /** What each step that ran reported (`down` returns them). */
  done: string[];
  /** up: the proxy was started in maintenance by this operation, to be turned off once the colour is up. */
  held?: boolean;
}

export async function proxyOf(x: Exec): Promise<ProxyControl> {
  x.proxy ??= (await openProxy(x.e)).control;
  return x.proxy;
}
