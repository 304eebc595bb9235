/** Every file switchyard keeps for a project, in one place. */
import path from 'node:path';
import type { Colour } from '../config/schema.js';

export interface ProjectPaths {
  root: string;
  dir: string;
  state: string;
  history: string;
  lock: string;
  currentEnv: string;
  logs: string;
  releases: string;
  run: string;
  proxySocket: string;
  proxyState: string;
  proxyLog: string;
  proxyPid: string;
  /** Present while the proxy is down on purpose (`down`): the supervisor does not start it again. */
  proxyStopped: string;
  journal: string;
  /**
   * `switchyard canary promote|abort` (or the dashboard) leaves its instruction here for the deploy
   * that holds the lock; the deploy answers in `canaryAck` (src/state/canary-request.ts).
   */
  canaryRequest: string;
  canaryAck: string;
  /** Process runtime: the supervisor's pid record, its report (restarts, degraded services) and its log. */
  supervisorPid: string;
  supervisorState: string;
  supervisorLog: string;
  colourLogs(colour: Colour): string;
  serviceLog(colour: Colour, service: string): string;
  buildLog(release: string, service: string): string;
  runFile(colour: Colour): string;
  release(id: string): string;
}

export function projectPaths(root: string): ProjectPaths {
  const abs = path.resolve(root);
  const dir = path.join(abs, '.switchyard');
  return {
    root: abs,
    dir,
    state: path.join(dir, 'state.json'),
    history: path.join(dir, 'history.jsonl'),
    lock: path.join(dir, 'lock'),
    currentEnv: path.join(abs, '.current-env'),
    logs: path.join(dir, 'logs'),
    releases: path.join(dir, 'releases'),
    run: path.join(dir, 'run'),
    proxySocket: path.join(dir, 'proxy.sock'),
    proxyState: path.join(dir, 'proxy.json'),
    proxyLog: path.join(dir, 'logs', 'proxy.log'),
    proxyPid: path.join(dir, 'run', 'proxy.pid'),
    proxyStopped: path.join(dir, 'run', 'proxy.stopped'),
    journal: path.join(dir, 'journal.json'),
    canaryRequest: path.join(dir, 'canary-request.json'),
    canaryAck: path.join(dir, 'canary-ack.json'),
    supervisorPid: path.join(dir, 'run', 'supervisor.pid'),
    supervisorState: path.join(dir, 'supervisor.json'),
    supervisorLog: path.join(dir, 'logs', 'supervisor.log'),
    colourLogs: (c) => path.join(dir, 'logs', c),
    serviceLog: (c, s) => path.join(dir, 'logs', c, `${s}.log`),
    buildLog: (r, s) => path.join(dir, 'logs', 'builds', `${r}-${s}.log`),
    runFile: (c) => path.join(dir, 'run', `${c}.json`),
    release: (id) => path.join(dir, 'releases', id),
  };
}
