import type { Config } from './schema.js';

/** A validated config with everything resolved that the engine needs. Produced by load.ts. */
export interface LoadedConfig {
  config: Config;
  /** Absolute path of the config file. */
  file: string;
  /** Folder holding the config file; relative paths in the config are relative to it. */
  projectDir: string;
  /** Per service: variables from the top-level env_file, the service's env_file, then its env (later wins). */
  serviceEnv: Record<string, Record<string, string>>;
  /** Values that must never be printed (I8): everything read from .env files and secret-looking variables. */
  secrets: string[];
}
