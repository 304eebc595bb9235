/**
 * Typed errors. A SwitchyardError is something the user can act on: it carries an exit code
 * (ExitCode below; docs/commands.md lists them) and a hint. Anything else reaching the
 * top-level catch is a bug in switchyard.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  locked: 3,
  inconsistent: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'COMPOSE_INVALID'
  | 'ENV_MISSING'
  | 'USAGE'
  | 'NEEDS_TTY'
  | 'LOCKED'
  | 'LOCK_STALE'
  | 'INCONSISTENT'
  | 'PORT_IN_USE'
  | 'BUILD_FAILED'
  | 'PUSH_FAILED'
  | 'START_FAILED'
  | 'HEALTH_FAILED'
  | 'SMOKE_FAILED'
  | 'SWITCH_FAILED'
  | 'PROXY_FAILED'
  | 'STATE_INVALID'
  | 'GIT_FAILED'
  | 'INTERRUPTED'
  | 'NOT_INITIALISED'
  | 'ABORTED'
  | 'COMMAND_FAILED'
  | 'DOCKER_UNREACHABLE'
  | 'BACKUP_FAILED'
  | 'RESTORE_FAILED'
  | 'DATABASE_UNREACHABLE'
  | 'MIGRATION_FAILED'
  | 'WATCH_FAILED'
  | 'STEP_FAILED'
  | 'CANARY_ABORTED'
  | 'NO_CANARY'
  | 'TIMEOUT';

const exitFor: Record<ErrorCode, ExitCodeValue> = {
  CONFIG_INVALID: ExitCode.usage,
  CONFIG_NOT_FOUND: ExitCode.usage,
  COMPOSE_INVALID: ExitCode.usage,
  ENV_MISSING: ExitCode.usage,
  USAGE: ExitCode.usage,
  NEEDS_TTY: ExitCode.usage,
  LOCKED: ExitCode.locked,
  LOCK_STALE: ExitCode.locked,
  INCONSISTENT: ExitCode.inconsistent,
  NOT_INITIALISED: ExitCode.usage,
  PORT_IN_USE: ExitCode.failed,
  BUILD_FAILED: ExitCode.failed,
  PUSH_FAILED: ExitCode.failed,
  START_FAILED: ExitCode.failed,
  HEALTH_FAILED: ExitCode.failed,
  SMOKE_FAILED: ExitCode.failed,
  SWITCH_FAILED: ExitCode.failed,
  PROXY_FAILED: ExitCode.failed,
  STATE_INVALID: ExitCode.inconsistent,
  GIT_FAILED: ExitCode.failed,
  INTERRUPTED: ExitCode.failed,
  ABORTED: ExitCode.failed,
  COMMAND_FAILED: ExitCode.failed,
  BACKUP_FAILED: ExitCode.failed,
  RESTORE_FAILED: ExitCode.failed,
  DATABASE_UNREACHABLE: ExitCode.failed,
  MIGRATION_FAILED: ExitCode.failed,
  DOCKER_UNREACHABLE: ExitCode.failed,
  TIMEOUT: ExitCode.failed,
  WATCH_FAILED: ExitCode.failed,
  STEP_FAILED: ExitCode.failed,
  CANARY_ABORTED: ExitCode.failed,
  NO_CANARY: ExitCode.failed,
};

export interface SwitchyardErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra lines (e.g. one per config problem) shown under the message. */
  details?: string[];
  exitCode?: ExitCodeValue;
}

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: string[];
  readonly exitCode: ExitCodeValue;

  constructor(code: ErrorCode, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? [];
    this.exitCode = options.exitCode ?? exitFor[code];
  }
}

export function isSwitchyardError(e: unknown): e is SwitchyardError {
  return e instanceof SwitchyardError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The same error with every secret hidden from its message, details and hint (I8). */
export function redactError(e: SwitchyardError, redact: (s: string) => string): SwitchyardError {
  return new SwitchyardError(e.code, redact(e.message), {
    hint: e.hint === undefined ? undefined : redact(e.hint),
    details: e.details.map(redact),
    cause: e.cause,
    exitCode: e.exitCode,
  });
}
