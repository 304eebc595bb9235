/**
 * The executor: runs any plan's actions in order as numbered steps (the numbering and titles are
 * the plan's), a handler per action kind (run/handlers/), asking an action's question before its
 * step. The journal records each step's action kind. Model: changesets' applyReleasePlan.
 */
import { SwitchyardError } from '../errors.js';
import type { Plan } from '../plan/actions.js';
import { featuresOf } from '../proxy/features.js';
import type { Exec } from './exec.js';
import { handle } from './handlers/index.js';
import { previewLines, previewOf } from './preview.js';
import { StepRunner } from './steps.js';

export async function execute(x: Exec, plan: Plan): Promise<void> {
  const { e } = x;
  const steps = new StepRunner(e.reporter, plan.actions.length, x.op.journal);
  for (const a of plan.actions) {
    if (a.ask) {
      if (a.ask.preview) {
        const lines = previewLines(previewOf(featuresOf(e.loaded.config.proxy), a.ask.preview));
        for (const l of lines) e.reporter.info(l);
      }
      if (!(await e.asker.confirm(a.ask.question, a.ask.byDefault))) {
        if ('abort' in a.ask.no) throw new SwitchyardError('ABORTED', a.ask.no.abort);
        steps.skip(a.title, a.ask.no.skip, a.kind);
        continue;
      }
    }
    if (a.skip !== undefined) {
      steps.skip(a.title, a.skip, a.kind);
      continue;
    }
    await steps.run(a.title, (h) => handle(x, a, h), a.kind);
  }
}
