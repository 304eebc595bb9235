/**
 * The page's files: served only from the built front end's folder (dist/dashboard/assets, written
 * by scripts/bundle.mjs), by name from a listing made at start, so no request path (`..`, encoded
 * or not) can reach another file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

export function contentType(name: string): string {
  return TYPES[path.extname(name)] ?? 'application/octet-stream';
}

/**
 * The asset a URL path names, or undefined: `/` is index.html, `/assets/<name>` one of `names`
 * (a flat folder). Anything else (a second segment, `..`, a NUL, a backslash, bad %-encoding) is
 * undefined, and the server answers 404.
 */
export function resolveAsset(urlPath: string, names: ReadonlySet<string>): string | undefined {
  if (urlPath === '/' || urlPath === '/index.html') return names.has('index.html') ? 'index.html' : undefined;
  if (!urlPath.startsWith('/assets/')) return undefined;
  let name: string;
  try {
    name = decodeURIComponent(urlPath.slice('/assets/'.length));
  } catch {
    return undefined;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) return undefined;
  return names.has(name) ? name : undefined;
}

/** The built front end's folder: next to the bundle (dist/), or dist/ seen from src/ (tests run with tsx). */
export function findAssetDir(explicit?: string): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = explicit
    ? [explicit]
    : [
        path.join(here, 'dashboard', 'assets'),
        path.join(here, '..', 'dashboard', 'assets'),
        path.join(here, 'assets'),
        path.join(here, '..', '..', 'dist', 'dashboard', 'assets'),
      ];
  return candidates.find((d) => fs.existsSync(path.join(d, 'index.html')));
}

export interface Assets {
  dir: string;
  names: ReadonlySet<string>;
  read(name: string): Promise<Buffer>;
}

export function loadAssets(dir: string): Assets {
  const names = new Set(
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name),
  );
  return { dir, names, read: (name) => fs.promises.readFile(path.join(dir, name)) };
}
