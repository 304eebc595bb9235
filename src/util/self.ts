/**
 * How to run this same switchyard as a child process (the proxy daemon and the keep-warm reaper).
 * Works from the CLI bundle (dist/switchyard.mjs), from the tsc output (dist/cli/main.js) and from
 * src/ under tsx (tests that import the library directly).
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { packageRoot } from './package-root.js';

declare const __SWITCHYARD_BUNDLE__: boolean | undefined;

export function selfCommand(args: string[]): { file: string; args: string[] } {
  const root = packageRoot();
  if (typeof __SWITCHYARD_BUNDLE__ !== 'undefined') return { file: process.execPath, args: [path.join(root, 'dist', 'switchyard.mjs'), ...args] };
  if (import.meta.url.endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return { file: process.execPath, args: ['--import', tsx, path.join(root, 'src', 'cli', 'main.ts'), ...args] };
  }
  return { file: process.execPath, args: [path.join(root, 'dist', 'cli', 'main.js'), ...args] };
}
