/**
 * `--plan`: prints what a command would do, as the numbered steps a run of it reports, and
 * changes nothing. Text for people; with --json one `plan` event carrying the same list.
 */
import type { Command } from 'commander';
import { plannedSteps, type Plan } from '../plan/actions.js';
import type { Reporter } from '../run/reporter.js';

export const PLAN_HELP = 'print the steps this command would run now, and change nothing (with --json: one event)';

export function addPlanOption(cmd: Command): Command {
  return cmd.option('--plan', PLAN_HELP);
}

export function printPlan(render: Reporter, json: boolean, plan: Plan): void {
  const steps = plannedSteps(plan);
  if (json) {
    render.event('plan', {
      command: plan.command,
      from: plan.from,
      to: plan.to,
      release: plan.release,
      notes: plan.notes,
      steps,
    });
    return;
  }
  const move = plan.to ? `: ${plan.from ?? '(nothing live)'} -> ${plan.to}` : plan.from ? ` (${plan.from} live)` : '';
  const release = plan.release ? ` (release ${plan.release})` : '';
  render.info(`Plan for ${plan.command}${move}${release}; nothing was changed`);
  for (const s of steps) {
    if (s.ask) render.info(`      asks first: ${s.ask}`);
    render.info(`  [${s.index}/${s.total}] ${s.title}${s.skip !== undefined ? ` – skipped: ${s.skip}` : ''}`);
  }
  for (const n of plan.notes) render.warn(n);
}
