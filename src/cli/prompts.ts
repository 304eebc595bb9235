/** Prompts only on a TTY (I7); the engine checks `interactive` and fails fast otherwise. */
import type { Asker } from '../run/reporter.js';

export function createAsker(interactive: boolean, signal: AbortSignal): Asker {
  return {
    interactive,
    confirm: async (message, defaultAnswer) => {
      if (!interactive) throw new Error('confirm() without a TTY');
      // Loaded on first use: most runs (CI, --auto-switch) never prompt.
      const { default: confirm } = await import('@inquirer/confirm');
      return confirm({ message, default: defaultAnswer }, { signal });
    },
  };
}
