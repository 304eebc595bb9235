/** Prompts only on a TTY (I7); the engine checks `interactive` and fails fast otherwise. */
import { confirm } from '@inquirer/prompts';
import type { Asker } from '../run/reporter.js';

export function createAsker(interactive: boolean, signal: AbortSignal): Asker {
  return {
    interactive,
    confirm: async (message, defaultAnswer) => {
      if (!interactive) throw new Error('confirm() without a TTY');
      return confirm({ message, default: defaultAnswer }, { signal });
    },
  };
}
