import type { Command } from 'commander';
import { parseCount } from '../args.js';
import { readHistory } from '../../state/history.js';
import { projectPaths } from '../../state/paths.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerHistory(program: Command, _setExit: SetExit): void {
  program
    .command('history')
    .description(
      "List past operations (init, deploy, rollback, switch, down, ...) and the supervisor's restarts, newest last.",
    )
    .option('-n, --limit <count>', 'show only the last N records', parseCount)
    .action(async (o: { limit?: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { engine, render } = await openEngine(g);
      let records = await readHistory(projectPaths(engine.paths.root));
      if (o.limit && o.limit > 0) records = records.slice(-o.limit);
      if (wantsJson(g)) {
        for (const r of records) render.event('history', r as unknown as Record<string, unknown>);
        return;
      }
      if (records.length === 0) return render.info('no history yet');
      for (const r of records) {
        // A restart is an event of one service of one colour, not a move.
        const move = r.type === 'restart' ? `${r.to}/${r.service}` : `${r.from ?? '-'} -> ${r.to ?? '-'}`;
        render.info(
          `${r.time}  ${r.type.padEnd(8)} ${move.padEnd(15)}` +
            ` ${r.result.padEnd(8)} ${(r.ms / 1000).toFixed(1).padStart(6)}s` +
            `  ${r.release ?? ''}  ${r.who}${r.reason ? `\n    ${r.reason}` : ''}`,
        );
      }
    });
}
