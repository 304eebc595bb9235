/**
 * nginx `location` blocks with the same matching as src/config/routes.ts: the longest prefix wins,
 * and "/api" matches "/api" and "/api/x" but not "/apix". A bare `location /api` would also match
 * "/apix", so a route "/api" becomes `location = /api` plus `location /api/`.
 *
 * nginx has one more rule of its own: a request for "/api" when only `location /api/` (with
 * proxy_pass) exists gets a 301 to "/api/". routing.ts sends that request elsewhere (to "/" say),
 * so an exact location renders what routing.ts would do.
 */
import type { Route } from '../../config/schema.js';
import { routeFor } from '../../config/routes.js';
import { q } from './syntax.js';

export { q };

const NOT_FOUND = 'return 404 "Not Found: no route matches this path\\n";';

/** `sorted` must come from sortRoutes; `proxy(service)` gives the directives that send to a service. */
export function locationBlocks(sorted: Route[], proxy: (service: string) => string[]): string[] {
  const paths = new Set(sorted.map((r) => r.path));
  const exact = new Set<string>();
  const out: string[] = [];
  const block = (modifier: string, path: string, body: string[]) => {
    out.push(`    location ${modifier}${q(path)} {`, ...body.map((l) => `      ${l}`), '    }');
  };
  for (const r of sorted) {
    const body = proxy(r.service);
    if (r.path === '/') {
      block('', '/', body);
    } else if (r.path.endsWith('/')) {
      block('', r.path, body);
      const bare = r.path.replace(/\/+$/, '');
      if (bare !== '' && !paths.has(bare) && !exact.has(bare)) {
        exact.add(bare);
        const owner = routeFor(sorted, bare);
        block('= ', bare, owner ? proxy(owner.service) : [NOT_FOUND]);
      }
    } else {
      exact.add(r.path);
      block('= ', r.path, body);
      if (!paths.has(`${r.path}/`)) block('', `${r.path}/`, body);
    }
  }
  if (!paths.has('/')) block('', '/', [NOT_FOUND]);
  return out;
}
