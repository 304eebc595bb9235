/** What the supervisor reports in .switchyard/supervisor.json: each supervised process, its restarts and health. */
import { readJson } from '../../state/atomic.js';
import type { ProjectPaths } from '../../state/paths.js';

export interface SupervisedService {
  colour: 'blue' | 'green';
  service: string;
  release: string;
  pid: number;
  restarts: number;
  /** A crash loop (restart-policy.ts CRASH_LOOP): `status` exits 4 while it lasts. */
  degraded: boolean;
  /** running; restarting (waiting for its backoff); exited (not started again, see `note`). */
  state: 'running' | 'restarting' | 'exited';
  lastExit?: { at: string; code: number | null; signal: string | null; known: boolean; text: string };
  nextRestart?: string;
  note?: string;
  lastError?: string;
}

export interface SupervisorReport {
  pid: number;
  updatedAt: string;
  services: Record<string, SupervisedService>;
}

/** The last report, or undefined when there is none (or it cannot be read: it is advisory). */
export async function readSupervisorReport(paths: ProjectPaths): Promise<SupervisorReport | undefined> {
  return readJson<SupervisorReport>(paths.supervisorState).catch(() => undefined);
}
