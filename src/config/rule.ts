/** The shape of a cross-field config rule (rules.ts lists them; nginx-rules.ts adds nginx's). */
import type { Problem } from './format-issues.js';
import type { Config } from './schema.js';

export interface RuleContext {
  /** Folder of the config file; relative paths are resolved against it. */
  projectDir: string;
}

export type Rule = (config: Config, ctx: RuleContext) => Problem[];
