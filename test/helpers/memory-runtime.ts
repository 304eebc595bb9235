/**
 * A fake Runtime for unit tests only: each service of a started colour is an in-process node:http
 * server on 127.0.0.1:0 (no child processes, no release folders) answering every request 200 with
 * `{ colour, release, service }` and `X-Switchyard-Env: <colour>`. `calls` logs what the engine
 * asked (`prepare r1`, `start green r1`, `stop blue`, ...); `unhealthy` and `failStart` are fault
 * switches; `onStart` runs inside `start`, so a test can look at the world mid-operation.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Colour } from '../../src/config/schema.ts';
import type { ColourRun, Endpoint, ExecOutcome, Release, Runtime, ServiceStatus } from '../../src/runtime/types.ts';

const HOST = '127.0.0.1';
/** Where a colour that is not started "will" be reached: nothing listens on port 1, so a request is refused. */
const PLACEHOLDER_PORT = 1;

interface Started {
  run: ColourRun;
  servers: http.Server[];
}

export interface MemoryRuntime extends Runtime {
  /** What the engine asked, in order: prepare, start, stop, exec, prune (reads are not logged). */
  readonly calls: string[];
  /** Colours whose services answer 500 (every health check fails). */
  readonly unhealthy: Set<Colour>;
  /** Colours whose `start` throws (after logging the call), leaving nothing running. */
  readonly failStart: Set<Colour>;
  /** Runs at the beginning of each `start`, before anything listens. */
  onStart?: (colour: Colour, release: string) => Promise<void> | void;
  /** Stops both colours (for `after` hooks). */
  close(): Promise<void>;
}

function listen(colour: Colour, release: string, service: string, unhealthy: Set<Colour>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    const status = unhealthy.has(colour) ? 500 : 200;
    res.writeHead(status, { 'content-type': 'application/json', 'x-switchyard-env': colour });
    res.end(JSON.stringify({ colour, release, service }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(server));
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** `services`: the config's service names (Object.keys(config.services)). */
export function memoryRuntime(services: string[]): MemoryRuntime {
  const calls: string[] = [];
  const releases: string[] = [];
  const started = new Map<Colour, Started>();
  let next = 1;

  const endpointsOf = (colour: Colour): Record<string, Endpoint[]> =>
    Object.fromEntries(
      Object.entries(started.get(colour)?.run.services ?? {}).map(([name, s]) => [
        name,
        [{ host: HOST, port: s.port }],
      ]),
    );

  async function halt(colour: Colour): Promise<void> {
    const s = started.get(colour);
    started.delete(colour);
    if (s) await Promise.all(s.servers.map(close));
  }

  const rt: MemoryRuntime = {
    kind: 'memory',
    calls,
    unhealthy: new Set(),
    failStart: new Set(),
    async prepare(): Promise<Release> {
      const id = `r${next++}`;
      calls.push(`prepare ${id}`);
      releases.push(id);
      return { id, createdAt: new Date().toISOString() };
    },
    async start(colour, release): Promise<ColourRun> {
      calls.push(`start ${colour} ${release}`);
      await rt.onStart?.(colour, release);
      if (rt.failStart.has(colour)) throw new Error(`memory runtime: ${colour} failed to start (fault switch)`);
      if (started.has(colour)) throw new Error(`memory runtime: ${colour} is already running`);
      if (!releases.includes(release)) throw new Error(`memory runtime: no release ${release}`);
      const servers = await Promise.all(services.map((svc) => listen(colour, release, svc, rt.unhealthy)));
      const at = new Date().toISOString();
      const run: ColourRun = {
        colour,
        release,
        services: Object.fromEntries(
          services.map((svc, i) => [
            svc,
            { pid: process.pid, port: (servers[i]!.address() as AddressInfo).port, startedAt: at },
          ]),
        ),
      };
      started.set(colour, { run, servers });
      return run;
    },
    async current(colour) {
      return started.get(colour)?.run;
    },
    async status(colour): Promise<ServiceStatus[]> {
      const run = started.get(colour)?.run;
      return services.map((service) => {
        const s = run?.services[service];
        return s
          ? { service, running: true, pid: s.pid, port: s.port }
          : { service, running: false, detail: `${colour} is not started` };
      });
    },
    async stop(colour) {
      calls.push(`stop ${colour}`);
      await halt(colour);
    },
    async endpoints(colour) {
      return endpointsOf(colour);
    },
    async plannedEndpoints(colour) {
      if (started.has(colour)) return endpointsOf(colour);
      return Object.fromEntries(services.map((svc) => [svc, [{ host: HOST, port: PLACEHOLDER_PORT }]]));
    },
    async exec(colour, service): Promise<ExecOutcome> {
      calls.push(`exec ${colour} ${service}`);
      return { ok: true, detail: '' };
    },
    async pruneReleases(keep, protect) {
      calls.push(`prune ${keep}`);
      const inUse = [...started.values()].map((s) => s.run.release);
      const removable = releases.filter((id) => !protect.includes(id) && !inUse.includes(id));
      const removed = removable.slice(0, Math.max(0, releases.length - keep));
      for (const id of removed) releases.splice(releases.indexOf(id), 1);
      return removed;
    },
    async hasRelease(id) {
      return releases.includes(id);
    },
    async close() {
      await Promise.all([...started.keys()].map(halt));
    },
  };
  return rt;
}
