/** switchyard's library API: everything the CLI does is available here. */
export { loadConfig } from './config/load.js';
export type { LoadedConfig } from './config/loaded.js';
export { configSchema, COLOURS, isColour, otherColour } from './config/schema.js';
export type { Config, Colour, ServiceConfig, SmokeStep } from './config/schema.js';
export { SwitchyardError, ExitCode, isSwitchyardError } from './errors.js';
export { createEngine, type Engine } from './run/context.js';
export type { Reporter, StepHandle, Asker } from './run/reporter.js';
export { init, initPlan, type InitOptions } from './run/init.js';
export { deploy, deployPlan, type DeployOptions, type DeployResult } from './run/deploy.js';
export { rollback, rollbackPlan, type RollbackOptions } from './run/rollback.js';
export { switchTraffic, switchPlan, type SwitchOptions } from './run/switch.js';
export { down, downPlan, type DownOptions } from './run/down.js';
export { up, upPlan, type UpOptions } from './run/up.js';
export { recover, type RecoverResult } from './run/recover.js';
export { maintenance } from './run/maintenance.js';
export {
  canaryControl,
  type CanaryAction,
  type CanaryControlOptions,
  type CanaryControlResult,
} from './run/canary-control.js';
export { status, type StatusReport } from './run/status.js';
export { readState, type State } from './state/state.js';
export { readHistory, type HistoryRecord } from './state/history.js';
export { projectPaths } from './state/paths.js';
export { assess } from './plan/assess.js';
export { planDeploy, planRollback, planSwitch, planInit } from './plan/plan.js';
export { plannedSteps, type Action, type Plan, type PlannedStep } from './plan/actions.js';
export { proxyClient } from './proxy/client.js';
export { runProxyDaemon } from './proxy/builtin/daemon.js';
