import type { Command } from 'commander';
import { COLOURS } from '../../config/schema.js';
import { ExitCode } from '../../errors.js';
import { status } from '../../run/status.js';
import { openEngine, wantsJson, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

export function registerStatus(program: Command, setExit: SetExit): void {
  program
    .command('status')
    .description(
      'Show the active colour, each colour and its services, the proxy, the lock and the last deploy.' +
        ' Exits 4 when they disagree, with the fix.',
    )
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { engine, render } = await openEngine(g);
      const s = await status(engine);
      if (s.problems.length) setExit(ExitCode.inconsistent);
      if (wantsJson(g)) return render.event('status', s as unknown as Record<string, unknown>);
      for (const n of s.notes) render.warn(n);
      const p = s.proxy;
      render.info(`app:          ${s.app}`);
      render.info(`active:       ${s.active ?? '(none)'}   (.current-env: ${s.currentEnv ?? 'missing'})`);
      const procs = p.workers ? ` (${p.workers.length} workers: ${p.workers.join(', ')})` : '';
      const where = p.nodes ? ` on ${p.nodes.length} edge node(s)` : `, pid ${p.pid}${procs}`;
      render.info(
        `proxy:        ` +
          (p.running ? `running${where}, sends traffic to ${p.active ?? 'nothing'}` : 'NOT running') +
          ` on ${p.listen}`,
      );
      for (const n of p.nodes ?? [])
        render.info(
          `  ${n.node.padEnd(12)} ` +
            (n.reachable
              ? `sends traffic to ${n.active ?? 'nothing'}` +
                (n.canary ? ` (${n.canary.percent}% to ${n.canary.colour})` : '')
              : `NOT reached: ${n.detail ?? 'no answer'}`),
        );
      if (p.canary && p.active)
        render.info(
          `split:        ${p.canary.percent}% of clients on ${p.canary.colour}` +
            `, ${100 - p.canary.percent}% on ${p.active}`,
        );
      if (p.maintenance)
        render.info(
          `maintenance:  ON since ${p.maintenance.since}: ${JSON.stringify(p.maintenance.message)}` +
            ` (\`switchyard maintenance off\` ends it)`,
        );
      if (p.preview) render.info(`preview:      ${p.preview} (the inactive colour)`);
      if (p.metrics) render.info(`metrics:      ${p.metrics} (Prometheus)`);
      if (p.watching) render.info('watching:     the live watch is counting per colour');
      const open = COLOURS.filter((c) => (p.inFlight?.[c] ?? 0) + (p.websockets?.[c] ?? 0) > 0);
      if (open.length)
        render.info(
          `open:         ` +
            open
              .map(
                (c) =>
                  `${c}: ${p.inFlight?.[c] ?? 0} request(s)` +
                  `${p.streams?.[c] ? ` (${p.streams[c]} SSE)` : ''}, ${p.websockets?.[c] ?? 0} WebSocket(s)`,
              )
              .join('; '),
        );
      for (const c of COLOURS) {
        const col = s.colours[c];
        const unrecorded =
          col.running && col.running !== col.release
            ? `; running release ${col.running}, which state.json does not record (a failed deploy kept for debugging?)`
            : '';
        render.info(`${c.padEnd(6)}        ${col.state}${col.release ? `, release ${col.release}` : ''}${unrecorded}`);
        for (const svc of col.services) {
          render.info(
            `  ${svc.service.padEnd(12)} ${svc.running ? `running${processOf(svc)}` : 'stopped'}` +
              `${svc.detail ? ' - ' + svc.detail : ''}`,
          );
        }
      }
      for (const svc of s.shared)
        render.info(
          `shared ${svc.service.padEnd(12)} ${svc.running ? 'running' : 'stopped'}` +
            `${svc.healthy === false ? ' (not healthy)' : ''}` +
            `${svc.detail ? ' - ' + svc.detail : ''}`,
        );
      render.info(`lock:         ${s.lock ? s.lock.description : 'free'}`);
      if (s.operation?.alive) {
        const at = s.operation.steps.at(-1);
        render.info(
          `running:      ${s.operation.type} ${s.operation.id} (pid ${s.operation.owner.pid})` +
            `${at ? `, step ${at.index}: ${at.title} (${at.status})` : ''}`,
        );
      }
      if (s.lastDeploy) {
        const d = s.lastDeploy;
        render.info(
          `last:         ${d.type} ${d.from ?? '-'} -> ${d.to ?? '-'}` +
            ` ${d.result} at ${d.time}${d.reason ? ` (${d.reason})` : ''}`,
        );
      }
      if (s.problems.length) {
        render.warn('inconsistent state:');
        for (const pr of s.problems) render.info(`  - ${pr.what}\n    fix: ${pr.fix}`);
      }
    });
}

/** ` (pid 123, port 4000)`: what a local process or container has; nothing for a swarm task. */
function processOf(svc: { pid?: number; port?: number }): string {
  const parts = [svc.pid ? `pid ${svc.pid}` : '', svc.port ? `port ${svc.port}` : ''].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
