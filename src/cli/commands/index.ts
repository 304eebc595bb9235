/** Registers every command; each lives in its own file: parse -> call the library -> render. */
import type { Command } from 'commander';
import { registerBackup, registerBackups, registerRestore } from './backup.js';
import { registerCanary } from './canary.js';
import { registerDashboard } from './dashboard.js';
import { registerDeploy } from './deploy.js';
import { registerDemo } from './demo.js';
import { registerDown } from './down.js';
import { registerEdgeProxy } from './edge.js';
import { registerHealth, registerSmoke } from './checks.js';
import { registerHistory } from './history.js';
import { registerInit } from './init.js';
import { registerLogs } from './logs.js';
import { registerProxy, registerReap, registerSupervise } from './daemons.js';
import { registerRecover } from './recover.js';
import { registerRollback } from './rollback.js';
import { registerService } from './service.js';
import { registerStatus } from './status.js';
import { registerSwitch } from './switch.js';
import { registerMaintenance, registerPreview } from './traffic.js';
import { registerTunnelRelay } from './tunnel.js';
import { registerUp } from './up.js';
import type { Register, SetExit } from './register.js';

export function registerCommands(program: Command, setExit: SetExit): void {
  const all: Register[] = [
    registerInit,
    registerDeploy,
    registerCanary,
    registerRollback,
    registerRecover,
    registerSwitch,
    registerPreview,
    registerMaintenance,
    registerHealth,
    registerSmoke,
    registerStatus,
    registerHistory,
    registerDashboard,
    registerLogs,
    registerBackup,
    registerBackups,
    registerRestore,
    registerDown,
    registerUp,
    registerService,
    registerDemo,
    registerProxy,
    registerReap,
    registerSupervise,
    registerTunnelRelay,
    registerEdgeProxy,
  ];
  for (const register of all) register(program, setExit);
}
