#!/usr/bin/env node
// Bundles the CLI into dist/switchyard.mjs (the package's bin). One file loads in about half the
// time of ~200 separate modules, and every command (rollback above all) starts faster.
// Code behind a dynamic import() goes to its own chunk in dist/chunks/, loaded only by the commands
// that need it: the built-in proxy daemon (undici, ws), the load generator (demo), the spinner and
// the prompt. A `rollback --force` then reads and compiles a third of what it used to.
// The library (dist/index.js) stays unbundled for `import 'switchyard'`.
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry a content hash: drop the previous build's so none goes stale.
rmSync('dist/chunks', { recursive: true, force: true });

await build({
  entryPoints: { switchyard: 'src/cli/main.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // Less to read and compile at every start; identifiers stay readable for stack traces.
  minifyWhitespace: true,
  minifySyntax: true,
  // ws loads these optional native helpers inside try/catch; they are not installed.
  external: ['bufferutil', 'utf-8-validate'],
  define: { __SWITCHYARD_BUNDLE__: 'true' },
  banner: {
    js:
      "import { createRequire as __syCreateRequire } from 'node:module';\n" +
      'const require = __syCreateRequire(import.meta.url);',
  },
  logLevel: 'warning',
});

// The dashboard's page (src/dashboard/web): Preact + htm + uPlot bundled into one browser module, with its
// HTML and CSS, into dist/dashboard/assets, the only folder `switchyard dashboard` serves files from.
// Nothing is loaded from the network at run time.
const assets = 'dist/dashboard/assets';
rmSync(assets, { recursive: true, force: true });
await build({
  entryPoints: { app: 'src/dashboard/web/app.js' },
  outdir: assets,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: ['chrome111', 'firefox111', 'safari16'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
});
mkdirSync(assets, { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`src/dashboard/web/${f}`, `${assets}/${f}`);
// uPlot's own stylesheet (its charts' legend and cursor), from the package, as is.
copyFileSync('node_modules/uplot/dist/uPlot.min.css', `${assets}/uplot.css`);
