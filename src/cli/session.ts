/** What every command gets: loaded config, renderer, asker, and a signal aborted on Ctrl-C/SIGTERM. */
import { loadConfig } from '../config/load.js';
import { makeRedactor } from '../config/redact.js';
import { createEngine, type Engine } from '../run/context.js';
import { createAsker } from './prompts.js';
import { createRenderer } from './render.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  output?: string;
}

export const interrupt = new AbortController();

export function wantsJson(g: GlobalOptions): boolean {
  return !!g.json || g.output === 'json';
}

export function renderer(g: GlobalOptions, secrets: string[] = []) {
  return createRenderer({ json: wantsJson(g), tty: !!process.stdout.isTTY && !wantsJson(g), redact: makeRedactor(secrets) });
}

export async function openEngine(g: GlobalOptions): Promise<{ engine: Engine; render: ReturnType<typeof renderer> }> {
  const loaded = await loadConfig({ file: g.config, cwd: process.cwd() });
  const render = renderer(g, loaded.secrets);
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY && !wantsJson(g);
  const engine = createEngine(loaded, { reporter: render, asker: createAsker(interactive, interrupt.signal), signal: interrupt.signal });
  return { engine, render };
}
