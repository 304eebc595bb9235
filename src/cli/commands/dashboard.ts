/** dashboard: a live web page for the project in this folder (src/dashboard/), until Ctrl-C or SIGTERM. */
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { SwitchyardError } from '../../errors.js';
import { createEngine } from '../../run/context.js';
import { interrupt, renderer, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65_535)
    throw new InvalidArgumentError(`expected a port 0..65535, got ${JSON.stringify(v)}`);
  return n;
}

export function registerDashboard(program: Command, _setExit: SetExit): void {
  program
    .command('dashboard')
    .description(
      'Serve a live web page for this project: the active colour and release, both colours, the proxy, an' +
        ' operation in progress step by step, history; switch, rollback and maintenance with a token.' +
        ' Runs until Ctrl-C.',
    )
    .option('--port <n>', 'port to listen on (default: dashboard.listen.port, else a free one)', parsePort)
    .option(
      '--host <address>',
      'address to listen on (default: dashboard.listen.host, else 127.0.0.1); beyond loopback only with a token',
    )
    .option(
      '--token <secret>',
      'the token actions need (default: SWITCHYARD_DASHBOARD_TOKEN, else dashboard.token, else one generated ' +
        'and printed)',
    )
    .action(async (o: { port?: number; host?: string; token?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const { checkBind, generateToken } = await import('../../dashboard/security.js');
      const loaded = await loadConfig({ file: g.config, cwd: process.cwd() });
      const cfg = loaded.config.dashboard;
      const given = o.token ?? process.env.SWITCHYARD_DASHBOARD_TOKEN ?? cfg?.token;
      if (given !== undefined && given.length < 16)
        throw new SwitchyardError('USAGE', 'dashboard: the token must be at least 16 characters', {
          hint: 'leave --token out to have one generated',
        });
      const host = o.host ?? cfg?.listen?.host ?? '127.0.0.1';
      const port = o.port ?? cfg?.listen?.port ?? 0;
      checkBind(host, given);
      const render = renderer(g, loaded.secrets);
      const engine = createEngine(loaded, { reporter: render, signal: interrupt.signal, origin: 'dashboard' });
      const { findAssetDir } = await import('../../dashboard/assets.js');
      const assetDir = findAssetDir();
      if (!assetDir)
        throw new SwitchyardError('COMMAND_FAILED', "dashboard: the page's files (dist/dashboard/assets) are missing", {
          hint: 'run `npm run build` (a checkout) or reinstall switchyard',
        });
      const { startDashboard } = await import('../../dashboard/server.js');
      const token = given ?? generateToken();
      const d = await startDashboard(engine, { host, port, token, assetDir });
      render.info(`dashboard: ${d.url} (${loaded.config.app}; Ctrl-C stops it)`);
      if (given === undefined) render.info(`token:     ${token} (actions need it; the page asks for it)`);
      render.event('dashboard', { url: d.url, port: d.port, ...(given === undefined ? { token } : {}) });
      await new Promise<void>((resolve) => {
        if (interrupt.signal.aborted) return resolve();
        interrupt.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      await d.close();
    });
}
