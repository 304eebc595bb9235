#!/usr/bin/env node
// Checks the import structure of src/ (see docs/design.md, "Layers"): no import circles, and no
// import from a lower layer to a higher one. Reads the import statements of every .ts file (type-only
// imports count too: a type is a dependency of the design). Exit 1 with each violation named.
// Usage: node scripts/check-layers.mjs [--graph]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');

/**
 * Layers from the bottom up: a file may import its own layer and those below it, never above.
 * The first path prefix that matches a file decides its layer.
 */
export const LAYERS = [
  ['errors', ['errors.ts']],
  ['util', ['util/']],
  ['config', ['config/']],
  ['state', ['state/']],
  ['adapters', ['checks/', 'load/', 'backup/', 'runtime/', 'proxy/', 'watch/', 'compose/']],
  ['plan', ['plan/']],
  ['run', ['run/']],
  ['dashboard', ['dashboard/']],
  ['cli', ['cli/']],
  ['library', ['index.ts']],
];

/** Folders whose inner files only they import: the rest of src/ goes through their index.ts. */
export const FACES = ['runtime/docker/'];

function layerOf(rel) {
  const i = LAYERS.findIndex(([, prefixes]) => prefixes.some((p) => rel === p || rel.startsWith(p)));
  if (i < 0) throw new Error(`src/${rel}: in no layer of scripts/check-layers.mjs`);
  return i;
}

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT = new RegExp(
  [
    /^\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]/.source,
    /^\s*import\s+['"](\.[^'"]+)['"]/.source,
    /import\(\s*['"](\.[^'"]+)['"]\s*\)/.source,
  ].join('|'),
  'gm',
);

export function graph() {
  const edges = new Map();
  for (const f of files(src)) {
    const rel = path.relative(src, f);
    const text = fs.readFileSync(f, 'utf8');
    const deps = new Set();
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const target = path.relative(src, path.resolve(path.dirname(f), spec)).replace(/\.js$/, '.ts');
      deps.add(target);
    }
    edges.set(rel, [...deps].sort());
  }
  return edges;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cycles(edges) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!edges.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (edges.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

export function upward(edges) {
  const out = [];
  for (const [from, deps] of edges) {
    for (const to of deps) {
      if (!edges.has(to)) continue;
      const a = layerOf(from);
      const b = layerOf(to);
      if (b > a) out.push(`src/${from} (${LAYERS[a][0]}) imports src/${to} (${LAYERS[b][0]})`);
    }
  }
  return out.sort();
}

export function pastFaces(edges) {
  const out = [];
  for (const [from, deps] of edges) {
    for (const to of deps) {
      const face = FACES.find((f) => to.startsWith(f) && !from.startsWith(f));
      if (face && to !== `${face}index.ts`) out.push(`src/${from} imports src/${to} (use src/${face}index.ts)`);
    }
  }
  return out.sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const edges = graph();
  const missing = [...edges].flatMap(([f, ds]) =>
    ds.filter((d) => !edges.has(d)).map((d) => `src/${f} imports src/${d}, which does not exist`),
  );
  const circles = cycles(edges);
  const up = upward(edges);
  const faces = pastFaces(edges);
  for (const m of missing) console.error(`missing: ${m}`);
  for (const c of circles) console.error(`circle: ${c.map((f) => `src/${f}`).join(' <-> ')}`);
  for (const u of up) console.error(`upward: ${u}`);
  for (const f of faces) console.error(`inner file: ${f}`);
  const n = [...edges.values()].reduce((a, d) => a + d.length, 0);
  if (missing.length + circles.length + up.length + faces.length > 0) {
    console.error(
      `check-layers: ${circles.length} circle(s), ${up.length} upward import(s), ` +
        `${faces.length} import(s) of an inner file, ${missing.length} missing in ${edges.size} files`,
    );
    process.exit(1);
  }
  console.log(
    `check-layers: ${edges.size} files, ${n} imports: no circle, no upward import, ` +
      `no inner file of ${FACES.join(', ')} imported from outside ` +
      `(layers: ${LAYERS.map(([l]) => l).join(' < ')})`,
  );
}
