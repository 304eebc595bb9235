/**
 * How to run this same switchyard as a child process (the proxy daemon and the keep-warm reaper).
 * Works from the CLI bundle (dist/switchyard.mjs), from the tsc output (dist/cli/main.js) and from
 * src/ under tsx (tests that import the library directly).
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { packageRoot } from './package-root.js';

declare const __SWITCHYARD_BUNDLE__: boolean | undefined;

/** The same as selfCommand, split into node flags, the script, and its arguments (what node:cluster wants). */
export function selfScript(args: string[]): { execArgv: string[]; script: string; args: string[] } {
  const root = packageRoot();
  if (typeof __SWITCHYARD_BUNDLE__ !== 'undefined')
    return { execArgv: [], script: path.join(root, 'dist', 'switchyard.mjs'), args };
  if (import.meta.url.endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return { execArgv: ['--import', tsx], script: path.join(root, 'src', 'cli', 'main.ts'), args };
  }
  return { execArgv: [], script: path.join(root, 'dist', 'cli', 'main.js'), args };
}

export function selfCommand(args: string[]): { file: string; args: string[] } {
  const s = selfScript(args);
  return { file: process.execPath, args: [...s.execArgv, s.script, ...s.args] };
}
