/** The switchyard package folder (holding package.json), from the built files, the bundle or src/. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'switchyard') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the switchyard package folder');
    dir = up;
  }
}
