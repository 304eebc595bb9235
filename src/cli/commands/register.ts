/** What every command file exports: a function that adds its command(s) to the program. */
import type { Command } from 'commander';

/** Sets the process exit code of a command that returns normally (status exits 4 when inconsistent). */
export type SetExit = (code: number) => void;

export type Register = (program: Command, setExit: SetExit) => void;
