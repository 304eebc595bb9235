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

let spinner: typeof import('ora').default | undefined;

/** A terminal we can draw on: a PTY that reports 0 columns (some CI runners) would make a spinner loop its redraws. */
function drawable(): boolean {
  return !!process.stdout.isTTY && (process.stdout.columns ?? 0) > 0;
}

/** Secrets of the config this process loaded: the top-level error handler must hide them too. */
let loadedSecrets: string[] = [];

export function renderer(g: GlobalOptions, secrets: string[] = loadedSecrets) {
  return createRenderer({
    json: wantsJson(g),
    tty: drawable() && !wantsJson(g),
    redact: makeRedactor(secrets),
    spinner,
  });
}

/** The spinner library costs ~60 ms to import: only a terminal gets it. */
export async function loadSpinner(g: GlobalOptions): Promise<void> {
  if (drawable() && !wantsJson(g) && !spinner) spinner = (await import('ora')).default;
}

export async function openEngine(g: GlobalOptions): Promise<{ engine: Engine; render: ReturnType<typeof renderer> }> {
  const [loaded] = await Promise.all([loadConfig({ file: g.config, cwd: process.cwd() }), loadSpinner(g)]);
  loadedSecrets = loaded.secrets;
  const render = renderer(g, loaded.secrets);
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY && !wantsJson(g);
  const engine = createEngine(loaded, {
    reporter: render,
    asker: createAsker(interactive, interrupt.signal),
    signal: interrupt.signal,
  });
  return { engine, render };
}
