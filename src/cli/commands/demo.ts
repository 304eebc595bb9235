import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { parseCount } from '../args.js';
import { loadConfig } from '../../config/load.js';
import { ExitCode } from '../../errors.js';
import { createEngine } from '../../run/context.js';
import { deploy } from '../../run/deploy.js';
import { down } from '../../run/down.js';
import { init } from '../../run/init.js';
import { rollback } from '../../run/rollback.js';
import { publicBase } from '../../run/verify.js';
import { packageRoot } from '../../util/package-root.js';
import { interrupt, renderer, type GlobalOptions } from '../session.js';
import type { SetExit } from './register.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const exampleDir = () => path.join(packageRoot(), 'examples', 'app');

export function registerDemo(program: Command, setExit: SetExit): void {
  program
    .command('demo')
    .description(
      'The whole cycle on the example app in a temp folder: init blue,' +
        ' deploy a new version to green under load, roll back, down.',
    )
    .option('--keep', 'keep the temp folder (and print its path) instead of deleting it')
    .option('--requests <n>', 'upper bound on requests the background load sends', parseCount, 100_000)
    .action(async (o: { keep?: boolean; requests: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const render = renderer(g);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'switchyard-demo-'));
      await fs.cp(exampleDir(), dir, { recursive: true, filter: (src) => !/[/\\](data|\.switchyard)$/.test(src) });
      const port = await freePort();
      const env = { ...process.env, SWITCHYARD_PORT: String(port) };
      render.info(`demo project: ${dir} (proxy on 127.0.0.1:${port})`);
      const loaded = await loadConfig({ cwd: dir, env });
      const e = createEngine(loaded, { reporter: render, signal: interrupt.signal });
      try {
        render.info('\n== switchyard init ==');
        await init(e);
        const origin = publicBase(loaded.config);
        // Loaded here only: the load generator brings undici, which no other command needs.
        const { startLoad } = await import('../../load/load.js');
        const load = startLoad({
          origin,
          path: '/api/health',
          connections: 8,
          maxRequests: o.requests,
          maxMs: 120_000,
        });
        render.info(`\nbackground load: 8 keep-alive connections to ${origin}/api/health`);
        for (const svc of ['api', 'frontend']) await fs.writeFile(path.join(dir, svc, 'VERSION'), '2.0.0\n');
        render.info('\n== switchyard deploy --auto-switch (version 2.0.0) ==');
        await deploy(e, { autoSwitch: true });
        render.info('\n== switchyard rollback --force ==');
        await rollback(e, { force: true });
        const totals = await load.stop();
        render.event('load', {
          sent: totals.sent,
          ok: totals.ok,
          failed: totals.failed,
          byColour: totals.byColour,
          errors: totals.errors,
          ms: totals.ms,
        });
        render.info(
          `\nload: ${totals.sent} requests sent, ${totals.ok} ok, failed: ${totals.failed}` +
            `  (by colour: ${Object.entries(totals.byColour)
              .map(([c, n]) => `${c} ${n}`)
              .join(', ')})`,
        );
        if (totals.failed > 0) {
          render.warn(`failed requests: ${JSON.stringify(totals.errors)}`);
          setExit(ExitCode.failed);
        }
      } finally {
        render.info('\n== switchyard down ==');
        let stopped = true;
        for (const line of await down(e).catch((err) => ((stopped = false), [`down failed: ${String(err)}`])))
          render.info(line);
        if (!stopped) {
          // Its pid files are the only way to find what still runs: keep the folder, fail the demo.
          render.warn(`kept ${dir}: run \`switchyard down\` there (SWITCHYARD_PORT=${port}) to stop what is left`);
          setExit(ExitCode.failed);
        } else if (o.keep) render.info(`kept ${dir}`);
        else await fs.rm(dir, { recursive: true, force: true });
      }
    });
}
