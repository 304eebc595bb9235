/**
 * Turns a failed pg_dump / pg_restore / psql run into a message a user can act on, from libpq's
 * and the server's wording on stderr. The raw stderr tail always goes along in `details`.
 */
import { errorMessage, isSwitchyardError, SwitchyardError, type ErrorCode } from '../errors.js';
import { signalOf } from './stream-exec.js';

const TAIL_LINES = 12;

interface Diagnosis {
  why: string;
  hint: string;
}

type Rule = [RegExp, (m: RegExpExecArray) => Diagnosis];

const RULES: Rule[] = [
  [
    /password authentication failed for user "([^"]+)"/,
    (m) => ({
      why: `the database rejected the password for user ${m[1]}`,
      hint: `check the user and password (in backup.url: percent-encode @ : / in the password as %40 %3A %2F)`,
    }),
  ],
  [
    /no password supplied/,
    () => ({
      why: 'the database wants a password and none was given',
      hint: 'put it in backup.url (postgres://user:password@host/db) or in ~/.pgpass',
    }),
  ],
  [
    /connection to server at "([^"]+)"(?: \([^)]*\))?, port (\d+) failed: Connection refused/,
    (m) => ({
      why: `nothing accepts connections at ${m[1]}:${m[2]}: is the database running?`,
      hint: 'start the database, or fix the host and port in backup.url',
    }),
  ],
  [
    /connection to server on socket "([^"]+)" failed: (?:No such file or directory|Connection refused)/,
    (m) => ({
      why: `nothing accepts connections on socket ${m[1]}: is the database running?`,
      hint: 'start the database, or give its host and port',
    }),
  ],
  [
    /connection to server at "([^"]+)"(?: \([^)]*\))?, port (\d+) failed: timeout expired/,
    (m) => ({
      why: `the database at ${m[1]}:${m[2]} did not answer in time (connection timeout)`,
      hint: 'check that the host is reachable from here (firewall, network) and that the database is up',
    }),
  ],
  [
    /timeout expired/,
    () => ({
      why: 'the database did not answer in time (connection timeout)',
      hint: 'check that the host is reachable from here and that the database is up',
    }),
  ],
  [
    /could not translate host name "([^"]+)"/,
    (m) => ({ why: `unknown host ${m[1]}`, hint: 'fix the host name in backup.url' }),
  ],
  [
    /database "([^"]+)" does not exist/,
    (m) => ({ why: `database ${m[1]} does not exist`, hint: 'create it, or fix the database name' }),
  ],
  [/role "([^"]+)" does not exist/, (m) => ({ why: `the database has no user ${m[1]}`, hint: 'fix the user name' })],
  [
    /no pg_hba\.conf entry for host "([^"]+)", user "([^"]+)", database "([^"]+)"/,
    (m) => ({
      why: `the server's pg_hba.conf does not let user ${m[2]} connect to database ${m[3]} from ${m[1]}`,
      hint: "add a line for it to the server's pg_hba.conf (or connect over SSL if only hostssl is allowed)",
    }),
  ],
  [
    /server version mismatch|aborting because of server version/,
    () => ({
      why: 'this pg_dump is older than the database server and cannot dump it',
      hint:
        "install the client programs of the server's major version" +
        ", or set backup.container to dump inside the database's container",
    }),
  ],
  [
    /the database system is (starting up|shutting down|in recovery mode)/,
    (m) => ({ why: `the database is ${m[1]}`, hint: 'wait until it is up and try again' }),
  ],
  [
    /permission denied for (?:table|schema|sequence|database|relation) ([^\s]+)/,
    (m) => ({
      why: `the user may not read ${m[1]}`,
      hint: 'connect as the owner of the database (or a user granted read access to everything)',
    }),
  ],
  [
    new RegExp(
      'input file does not appear to be a valid archive|input file is too short|' +
        'could not read from input file: end of file|unexpected end of file',
    ),
    () => ({ why: 'the file is not a complete PostgreSQL custom-format dump', hint: 'pick another backup' }),
  ],
  [
    /unsupported version \(([^)]*)\) in file header/,
    (m) => ({
      why: `this pg_restore cannot read the dump's format version ${m[1]} (written by a newer pg_dump, or damaged)`,
      hint: 'use the client programs of the version that wrote it, or pick another backup',
    }),
  ],
];

export function stderrTail(stderr: string, redact: (s: string) => string): string[] {
  return stderr
    .split('\n')
    .map((l) => redact(l.trimEnd()))
    .filter((l) => l.trim() && l !== 'Password: ')
    .slice(-TAIL_LINES);
}

export function diagnose(program: string, code: number, stderr: string): Diagnosis {
  for (const [re, make] of RULES) {
    const m = re.exec(stderr);
    if (m) return make(m);
  }
  const sig = signalOf(code);
  if (sig)
    return {
      why: `${program} was killed by ${sig}`,
      hint: 'see whether something (the OOM killer, an operator) stopped it, and try again',
    };
  return { why: `${program} exited with code ${code}`, hint: `see ${program}'s messages above` };
}

export interface FailContext {
  /** "database backup failed" / "restore failed" / "database unreachable". */
  what: string;
  code: ErrorCode;
  redact: (s: string) => string;
  where: string;
}

/** The error for a program that ran and failed. */
export function pgRunFailure(program: string, r: { code: number; stderr: string }, c: FailContext): SwitchyardError {
  const d = diagnose(program, r.code, r.stderr);
  return new SwitchyardError(c.code, c.redact(`${c.what}: ${d.why}`), {
    hint: c.redact(d.hint),
    details: [`(${c.where})`, ...stderrTail(r.stderr, c.redact)],
  });
}

/** The same failure for an error thrown instead (program missing, timeout, write error); ABORTED passes through. */
export function pgThrownFailure(e: unknown, c: FailContext & { timeoutHint: string }): SwitchyardError {
  if (isSwitchyardError(e) && e.code === 'ABORTED') return e;
  const hint = isSwitchyardError(e) && e.code === 'TIMEOUT' ? c.timeoutHint : isSwitchyardError(e) ? e.hint : undefined;
  const details = isSwitchyardError(e) ? e.details : [];
  return new SwitchyardError(c.code, c.redact(`${c.what}: ${errorMessage(e)}`), {
    hint: hint === undefined ? undefined : c.redact(hint),
    details: details.map(c.redact),
    cause: e,
  });
}
