#!/usr/bin/env node
// Writes schema/switchyard.schema.json from the compiled zod schema (dist/config/schema.js), so
// editors can validate and complete switchyard.yml. Runs after tsc in `npm run build`.
// The "input" side is published: durations accept "30s" or a number of seconds, defaults are optional.
// Usage: node scripts/emit-schema.mjs [distDir] [outFile]
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { z } from 'zod';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.resolve(root, process.argv[2] ?? 'dist');
const out = path.resolve(root, process.argv[3] ?? 'schema/switchyard.schema.json');

const { configSchema } = await import(pathToFileURL(path.join(dist, 'config', 'schema.js')).href);
const json = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
json.$id = 'https://github.com/switchyard/switchyard/schema/switchyard.schema.json';
json.title = 'switchyard.yml';
json.description = 'Configuration of switchyard, zero-downtime blue-green deploys on one machine.';

mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
console.log(`wrote ${path.relative(process.cwd(), out) || out}`);
