/** One handler per action kind: the executor (run/execute.ts) looks each action up here. */
import type { Action, ActionKind } from '../../plan/actions.js';
import type { Exec } from '../exec.js';
import type { StepHandle } from '../reporter.js';
import { buildStart, check, ensureRunning, health, migrate, smoke } from './colour.js';
import { forgetActive, removeVolumes, stopColour, stopProxy, stopShared } from './down.js';
import { backup, pull, startProxy, startShared, target } from './prepare.js';
import { revive, supervise } from './up.js';
import { endSplit, keepWarmFor, recordState, shift, split, stopOld, switchTo, watch } from './traffic.js';

type Handler<K extends ActionKind> = (x: Exec, a: Extract<Action, { kind: K }>, h: StepHandle) => Promise<void>;

const HANDLERS: { [K in ActionKind]: Handler<K> } = {
  target,
  'start-shared': startShared,
  'start-proxy': startProxy,
  backup,
  pull,
  'build-start': buildStart,
  'ensure-running': ensureRunning,
  health,
  check,
  migrate,
  smoke,
  shift,
  switch: switchTo,
  watch,
  'stop-old': stopOld,
  'keep-warm': keepWarmFor,
  'record-state': recordState,
  split,
  'end-split': endSplit,
  'stop-proxy': stopProxy,
  'stop-colour': stopColour,
  'stop-shared': stopShared,
  'remove-volumes': removeVolumes,
  'forget-active': forgetActive,
  revive,
  supervise,
};

export function handle(x: Exec, a: Action, h: StepHandle): Promise<void> {
  return (HANDLERS[a.kind] as Handler<ActionKind>)(x, a as never, h);
}
