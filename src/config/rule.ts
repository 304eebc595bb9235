/** The shape of a cross-field config rule (rules.ts lists them; nginx-rules.ts adds nginx's). */
import type { Problem } from './format-issues.js';
import type { Config } from './schema.js';

/** Reads a config the schema validated; pure: no disk, no clock, no exception for a config it dislikes. */
export type Rule = (config: Config) => Problem[];
