/**
 * How to run this same switchyard as a child process (the proxy daemon is one). Works from the
 * built dist/ (plain node) and from src/ under tsx (tests that import the library directly).
 */
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export function selfCommand(args: string[]): { file: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const entry = fileURLToPath(new URL('../cli/main.ts', import.meta.url));
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return { file: process.execPath, args: ['--import', tsx, entry, ...args] };
  }
  const entry = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  return { file: process.execPath, args: [entry, ...args] };
}
