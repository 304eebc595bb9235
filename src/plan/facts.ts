/** What the planner knows about the world: read by the engine, passed in, so planning stays pure. */
import type { Colour } from '../config/schema.js';
import type { JournalData } from '../state/journal.js';
import type { State } from '../state/state.js';
import type { Canary } from '../proxy/types.js';

export interface Facts {
  state: State | undefined;
  /** Whether any process/container of each colour is alive. */
  running: Record<Colour, boolean>;
  /** Services that are NOT running in a colour where others are (a crashed process, a removed container). */
  missing?: Record<Colour, string[]>;
  /** The proxy's active colour; undefined when the proxy is not running. */
  proxyActive: Colour | null | undefined;
  /** A weighted split the proxy applies (switch --weight, a canary step), or null/undefined. */
  proxyCanary?: Canary | null;
  /** Contents of .current-env (trimmed), undefined when absent. */
  currentEnv: string | undefined;
  /** Whether another command holds the lock right now (a deploy in progress explains two running colours). */
  lockHeld: boolean;
  /** The journal of an operation whose process is gone (see src/state/journal.ts). */
  interrupted?: JournalData;
}

export interface Problem {
  what: string;
  fix: string;
}
