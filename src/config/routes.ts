/** Path-prefix routing shared by the proxy and the checks: the longest matching prefix wins. */
import type { Route } from './schema.js';

/** Routes sorted once, longest prefix first. */
export function sortRoutes(routes: Route[]): Route[] {
  return [...routes].sort((a, b) => b.path.length - a.path.length);
}

function matches(prefix: string, pathname: string): boolean {
  if (prefix === '/') return true;
  if (!pathname.startsWith(prefix)) return false;
  // "/api" matches "/api", "/api/x" and "/api?x" but not "/apix".
  const next = pathname.charCodeAt(prefix.length);
  return Number.isNaN(next) || prefix.endsWith('/') || next === 47 /* / */ || next === 63 /* ? */;
}

/** `sorted` must come from sortRoutes. Returns undefined when no route matches. */
export function routeFor(sorted: Route[], url: string): Route | undefined {
  for (const r of sorted) if (matches(r.path, url)) return r;
  return undefined;
}
