/** The Runtime interface: how a colour's services are built, started, inspected and stopped. */
import type { Colour, Command, Config } from '../config/schema.js';
import type { ProjectPaths } from '../state/paths.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** Per service, one endpoint per instance (services.<name>.instances), instance 1 first. */
export type ServiceEndpoints = Record<string, Endpoint[]>;

/** A built, immutable release: one snapshot folder per service, built and ready to start. */
export interface Release {
  id: string;
  /** Git commit of the snapshot, when the source was a git checkout. */
  commit?: string;
  createdAt: string;
}

export interface ServiceRun {
  pid: number;
  port: number;
  /** Process start time as the kernel sees it, so a reused pid is not taken for ours. */
  startTicks?: string;
  startedAt: string;
  /** Process runtime: the supervisor's restart policy for it (absent: always). */
  restart?: 'always' | 'on-failure' | 'never';
}

/**
 * What the runtime records for a started colour (.switchyard/run/<colour>.json). `services` is
 * keyed by instance (config/instances.ts): `api`, then `api.2`, ... when a service runs several.
 */
export interface ColourRun {
  colour: Colour;
  release: string;
  /**
   * Process runtime: the config file the colour was started from. The supervisor reads it again to
   * start an exited process the same way (switchyard stores no environment values: I8).
   */
  configFile?: string;
  services: Record<string, ServiceRun>;
}

export interface ExecCommand {
  run: Command;
  shell: boolean;
  timeout: number;
}

export interface ExecOutcome {
  ok: boolean;
  /** Why it failed, with the tail of its output; empty when ok. */
  detail: string;
}

export interface ServiceStatus {
  service: string;
  running: boolean;
  pid?: number;
  port?: number;
  /** Runtime health (level 2): undefined when the runtime defines none. */
  healthy?: boolean;
  /** The runtime's verdict is final (Docker: `unhealthy`, not `starting`): waiting will not help. */
  failed?: boolean;
  detail?: string;
  /** Process runtime: how often the supervisor started it again since the colour started. */
  restarts?: number;
  /** Process runtime: how it last ended (`exited with code 1`, `was killed by SIGKILL`), after a restart. */
  lastExit?: string;
  /** Process runtime: a crash loop (5 exits in 60 s): how it last ended, and its log's last lines. */
  crashLoop?: { lastExit: string; lines: string };
}

export interface RuntimeContext {
  /** Per service environment from the config (env_file + env), see LoadedConfig.serviceEnv. */
  serviceEnv: Record<string, Record<string, string>>;
  config: Config;
  paths: ProjectPaths;
  /** The config file `config` was loaded from (the supervisor reads it again). */
  configFile?: string;
  /** Secrets to hide from anything the runtime prints. */
  redact?: (text: string) => string;
  log?: (line: string) => void;
}

export interface PrepareOptions {
  /** Deploy a given git commit or tag (git archive) instead of the working tree. */
  ref?: string;
  signal?: AbortSignal;
}

export interface StopOptions {
  signal?: AbortSignal;
}

export interface Runtime {
  readonly kind: string;
  /** Snapshot each service's cwd into .switchyard/releases/<id> and run its build there. */
  prepare(opts?: PrepareOptions): Promise<Release>;
  /**
   * Start every service of the release as `colour`. Fails (and cleans up) if any port is taken or any process dies at
   * once.
   */
  start(colour: Colour, release: string, opts?: { signal?: AbortSignal }): Promise<ColourRun>;
  /** The current run record, or undefined if the colour was never started / was stopped. */
  current(colour: Colour): Promise<ColourRun | undefined>;
  /** Health level 1 (and 2 where defined). */
  status(colour: Colour): Promise<ServiceStatus[]>;
  /** SIGTERM, then SIGKILL after each service's stopTimeout. Idempotent. */
  stop(colour: Colour, opts?: StopOptions): Promise<void>;
  /** Where each service of the colour can be reached: one endpoint per instance, instance 1 first. */
  endpoints(colour: Colour): Promise<ServiceEndpoints>;
  /**
   * Where each service of the colour WILL be reached when started (stable ports), without
   * starting anything; lets a proxy that names its backends (nginx) be complete from the start.
   */
  plannedEndpoints(colour: Colour): Promise<ServiceEndpoints>;
  /**
   * Runs a command in a service of a started colour (the migrate hook): inside its container
   * (docker exec), or as a process in its release folder with its environment (process). Bounded
   * by command.timeout and the signal; never throws for a failing command, says why in `detail`.
   */
  exec(
    colour: Colour,
    service: string,
    command: ExecCommand,
    opts?: { env?: Record<string, string>; signal?: AbortSignal },
  ): Promise<ExecOutcome>;
  /**
   * What to check when a colour's ports refuse or reset connections while its services run, where
   * the runtime knows a likely cause (docker: an app listening on the container's own loopback).
   * Undefined when nothing of the colour runs or there is nothing to add.
   */
  unreachableHint?(colour: Colour): Promise<string | undefined>;
  /**
   * Streams service output where the runtime keeps it itself (docker); absent: the log files under .switchyard/logs.
   */
  logs?(
    colour: Colour,
    services: string[],
    opts: { follow: boolean; signal?: AbortSignal },
    write: (line: string) => void,
  ): Promise<void>;
  /**
   * The last lines a service of the colour printed, secrets hidden, for error messages (a health
   * check that found it gone). Empty when there is nothing to show.
   */
  tail?(colour: Colour, service: string, lines: number): Promise<string>;
  /** Delete release folders beyond `keep`, never those in `protect`. Returns the ids removed. */
  pruneReleases(keep: number, protect: string[]): Promise<string[]>;
  /** Whether a release folder exists (so rollback can restart it without a rebuild). */
  hasRelease(id: string): Promise<boolean>;
  /**
   * Shared services (docker: `shared:` containers such as the database). Started by init, never
   * stopped by stop(colour), deploy or rollback. Returns one line per service for the step output.
   * Absent on runtimes without shared services.
   */
  startShared?(opts?: { signal?: AbortSignal }): Promise<string[]>;
  /**
   * Makes sure whatever starts an exited process again is running (the process runtime's
   * supervisor; Docker's restart policies need nothing). Every command that opens the proxy calls it.
   */
  supervise?(): Promise<string | undefined>;
  /** Stops and removes the shared services; their data volumes stay. */
  stopShared?(): Promise<void>;
  sharedStatus?(): Promise<ServiceStatus[]>;
  /** Deletes the app's data volumes (`down --volumes`); call only after stopShared. Returns their names. */
  removeVolumes?(): Promise<string[]>;
  /**
   * What the proxy routes to for the colour, where that is not what endpoints() gives this
   * machine (swarm: the tasks' DNS name on the overlay, while endpoints() are tunnel forwards).
   */
  backends?(colour: Colour): Promise<ServiceEndpoints>;
  /**
   * A loopback address of a shared service's `port`, where this machine cannot reach the service
   * directly (swarm: a tunnel forward to its task). Backups of `backup.container` use it.
   */
  sharedAddress?(name: string, port: number): Promise<Endpoint>;
  /** Releases what the runtime opened for this command (swarm: the tunnel). */
  close?(): Promise<void>;
}
