/** Adds what the supervisor reports (restarts, a restart pending, a crash loop) to the process runtime's status. */
import type { Colour } from '../../config/schema.js';
import type { ProjectPaths } from '../../state/paths.js';
import type { ColourRun, ServiceStatus } from '../types.js';
import { tailLog } from './logs.js';
import { readSupervisorReport } from './supervisor-report.js';

const CRASH_LOOP_LINES = 5;

export async function supervisedStatus(
  paths: ProjectPaths,
  colour: Colour,
  run: ColourRun | undefined,
  plain: ServiceStatus[],
): Promise<ServiceStatus[]> {
  const report = run ? await readSupervisorReport(paths) : undefined;
  if (!report) return plain;
  return Promise.all(
    plain.map(async (st) => {
      const r = report.services[`${colour}/${st.service}`];
      // Only what the supervisor says about this very run of the colour.
      // (the same process too: a colour a command just started again is not yet in the report)
      if (!r || r.release !== run!.release || r.pid !== run!.services[st.service]?.pid) return st;
      const out: ServiceStatus = { ...st, restarts: r.restarts, ...(r.lastExit ? { lastExit: r.lastExit.text } : {}) };
      if (!st.running && r.state === 'restarting' && r.nextRestart)
        out.detail = `exited; the supervisor starts it again at ${r.nextRestart} (restart ${r.restarts + 1})`;
      if (!st.running && r.state === 'exited' && r.note) out.detail = `${st.detail ?? 'exited'}; ${r.note}`;
      if (r.restarts > 0 && st.running) {
        const last = r.lastExit ? `, last it ${r.lastExit.text}` : '';
        out.detail = `${st.detail ?? ''}; restarted ${r.restarts} time(s)${last}`;
      }
      if (r.degraded && r.lastExit) {
        const lines = await tailLog(paths.serviceLog(colour, st.service), 0, CRASH_LOOP_LINES);
        out.crashLoop = { lastExit: r.lastExit.text, lines };
      }
      return out;
    }),
  );
}
