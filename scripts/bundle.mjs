#!/usr/bin/env node
// Bundles the CLI into one file, dist/switchyard.mjs (the package's bin). One file loads in about
// half the time of ~200 separate modules, and every command (rollback above all) starts faster.
// The library (dist/index.js) stays unbundled for `import 'switchyard'`.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/switchyard.mjs',
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
  banner: { js: "import { createRequire as __syCreateRequire } from 'node:module';\nconst require = __syCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
