/**
 * Operations as data: what init, deploy, rollback, switch and down will do, as a list of actions.
 * The planners (plan/*.ts) assemble the list from facts and options without I/O; one executor
 * (run/execute.ts) runs any list, a handler per kind; `--plan` prints the same list and stops.
 * Every action is one numbered step, so the numbering and the titles a run reports are the list's.
 */
import type { Colour } from '../config/schema.js';

export const COMMANDS = ['init', 'deploy', 'rollback', 'switch', 'down', 'up'] as const;
export type PlannedCommand = (typeof COMMANDS)[number];

/**
 * A question asked before the step starts (outside it, so a spinner never hides it). No means
 * `abort` (the operation fails with that message, nothing moved) or `skip` (the step is skipped
 * with that reason). `preview`: print how to reach the colour's preview first.
 */
export interface Ask {
  question: string;
  byDefault: boolean;
  no: { abort: string } | { skip: string };
  preview?: Colour;
}

interface Common {
  /** What the step line says: the same words in the plan and in the run. */
  title: string;
  /** Planned not to run, and why (shown as a skipped step). */
  skip?: string;
  ask?: Ask;
}

export type ActionBody =
  /** Report the move the planner chose (the facts were read under the lock). */
  | { kind: 'target'; from: Colour; to: Colour; info: string[]; warnings: string[] }
  | { kind: 'start-shared' }
  /** `hold`: if it has to be started, start it in maintenance with this message (up, live colour down). */
  | { kind: 'start-proxy'; hold?: string }
  | { kind: 'backup' }
  | { kind: 'pull' }
  /** Build (or take the release of `ref`) and start `colour`; `replace`: stop what it runs first. */
  | { kind: 'build-start'; colour: Colour; replace: boolean; ref?: string; keepFailed: boolean }
  /** Start a stopped colour from its kept release (`start`), or take the running one; then health. */
  | { kind: 'ensure-running'; colour: Colour; release: string; start: boolean }
  | { kind: 'health'; colour: Colour }
  /** The warm health check of `switch` (a running colour; --force accepts a failure). */
  | { kind: 'check'; colour: Colour; force: boolean }
  /** The migrate hook; `unbackedBecause`: no backup from this operation, and why (warned first). */
  | { kind: 'migrate'; colour: Colour; unbackedBecause?: string }
  | { kind: 'smoke'; colour: Colour }
  /** A canary step: `percent` of clients on `colour` for `waitMs`, judged when the watch is on. */
  | { kind: 'shift'; colour: Colour; from: Colour; percent: number; waitMs: number; first: boolean }
  /**
   * Commit, move the proxy, verify through the public entry (back to `from` if it fails). With
   * `record`, state.json and .current-env follow, with this operation as the last deploy.
   */
  | { kind: 'switch'; from: Colour | null; to: Colour; record: boolean }
  /** The live watch after the switch (deploy.rollbackOn): switches back to `from` on a trip. */
  | { kind: 'watch'; colour: Colour; from: Colour; ms: number }
  /** Drain and stop the colour traffic left; a failure is a warning (traffic moved already). */
  | { kind: 'stop-old'; colour: Colour }
  /** deploy.keepOldFor: leave it running, with the reaper to stop it later. */
  | { kind: 'keep-warm'; colour: Colour; ms: number }
  | { kind: 'record-state'; colour: Colour }
  /** switch --weight P: P% of clients (sticky) on `colour`, the rest on `active`. */
  | { kind: 'split'; colour: Colour; active: Colour; percent: number }
  | { kind: 'end-split'; colour: Colour; active: Colour }
  | { kind: 'stop-proxy' }
  /** down: stop a colour (and mark it stopped in state.json). */
  | { kind: 'stop-colour'; colour: Colour }
  | { kind: 'stop-shared'; volumesKept: boolean }
  | { kind: 'remove-volumes' }
  /** down: no colour is active any more, and the proxy starts clean next time. */
  | { kind: 'forget-active' }
  /**
   * up: start a recorded colour that is not running, from its recorded release, health-gated. For
   * the live colour (`live`), the proxy answers 503 (maintenance) until it passes, never 502.
   */
  | { kind: 'revive'; colour: Colour; release: string; live: boolean }
  /** up: make sure whatever restarts exited services runs (the process runtime's supervisor). */
  | { kind: 'supervise' };

export type Action = Common & ActionBody;
export type ActionKind = Action['kind'];

export interface Plan {
  command: PlannedCommand;
  from: Colour | null;
  to: Colour | null;
  /** The release the operation moves to, when known before it runs (rollback, switch). */
  release: string | null;
  /** Facts worth knowing that change nothing (a warning about the live colour, a lock held). */
  notes: string[];
  actions: Action[];
}

/** One step of a plan as it is printed and as a run reports it. */
export interface PlannedStep {
  index: number;
  total: number;
  kind: ActionKind;
  title: string;
  skip?: string;
  ask?: string;
}

export function plannedSteps(p: Plan): PlannedStep[] {
  return p.actions.map((a, i) => ({
    index: i + 1,
    total: p.actions.length,
    kind: a.kind,
    title: a.title,
    ...(a.skip ? { skip: a.skip } : {}),
    ...(a.ask ? { ask: a.ask.question } : {}),
  }));
}
