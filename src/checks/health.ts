/**
 * The five health levels (`switchyard health`, docs/commands.md), and waiting until a colour passes them all several
 * rounds in a row. Polls quickly, never sleeps a fixed long time, and every wait is bounded.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Colour, Config } from '../config/schema.js';
import { SwitchyardError, errorMessage } from '../errors.js';
import type { Endpoint, ServiceEndpoints, ServiceStatus } from '../runtime/types.js';
import { instanceKey, instancesOf } from '../config/instances.js';
import { matchExpect } from './expect.js';
import { httpRequest } from './http.js';

export interface LevelResult {
  level: 1 | 2 | 3 | 4 | 5;
  name: string;
  ok: boolean;
  skipped: boolean;
  detail: string;
  /** A failure that waiting cannot fix (a dead process, a container Docker calls unhealthy). */
  final?: boolean;
  /** Level 1 failed: the services it found not running (whatever restarts them a moment later). */
  down?: string[];
}

export interface HealthInput {
  config: Config;
  colour: Colour;
  /** Per service, one endpoint per instance: level 3 checks each. */
  endpoints: ServiceEndpoints;
  /** Levels 1 and 2, from the runtime (one row per instance key: api, api.2). */
  status: () => Promise<ServiceStatus[]>;
  signal?: AbortSignal;
  /** Accepted for symmetry with runSmoke; health checks do not need it. */
  projectDir?: string;
  /** Level 4, direct: connects to the database and runs SELECT 1 (from the backup connection). */
  pingDatabase?: () => Promise<void>;
}

export interface WaitHealthyInput extends HealthInput {
  timeoutMs?: number;
  intervalMs?: number;
  healthyAfter?: number;
  onAttempt?(attempt: number, levels: LevelResult[]): void;
}

export interface WaitHealthyResult {
  ok: boolean;
  levels: LevelResult[];
  attempts: number;
  ms: number;
}

const pass = (level: LevelResult['level'], name: string, detail: string): LevelResult => ({
  level,
  name,
  ok: true,
  skipped: false,
  detail,
});
const fail = (level: LevelResult['level'], name: string, detail: string): LevelResult => ({
  level,
  name,
  ok: false,
  skipped: false,
  detail,
});
const skip = (level: LevelResult['level'], name: string, detail: string): LevelResult => ({
  level,
  name,
  ok: true,
  skipped: true,
  detail,
});

async function levelsFromStatus(input: HealthInput): Promise<[LevelResult, LevelResult]> {
  let statuses: ServiceStatus[];
  try {
    statuses = await input.status();
  } catch (e) {
    const d = `could not read the runtime status: ${errorMessage(e)}`;
    return [fail(1, 'processes running', d), fail(2, 'runtime health', d)];
  }
  const byName = new Map(statuses.map((s) => [s.service, s]));
  const down: string[] = [];
  const downNames: string[] = [];
  const up: string[] = [];
  for (const { key: name } of instancesOf(input.config.services)) {
    const s = byName.get(name);
    if (!s) down.push(`${name}: not started`);
    else if (!s.running) down.push(`${name}: not running${s.detail ? ` (${s.detail})` : ''}`);
    if (!s?.running) downNames.push(name);
    else up.push(`${name}${s.pid ? ` (pid ${s.pid})` : ''}`);
  }
  const l1 = down.length
    ? { ...fail(1, 'processes running', down.join('; ')), down: downNames }
    : pass(1, 'processes running', up.join(', '));
  const rated = statuses.filter((s) => s.healthy !== undefined);
  const sick = rated.filter((s) => !s.healthy).map((s) => `${s.service}: unhealthy${s.detail ? ` (${s.detail})` : ''}`);
  const l2 =
    rated.length === 0
      ? skip(2, 'runtime health', 'the runtime defines no health status')
      : sick.length
        ? { ...fail(2, 'runtime health', sick.join('; ')), final: rated.some((s) => s.failed === true) }
        : pass(2, 'runtime health', rated.map((s) => s.service).join(', '));
  return [l1, l2];
}

/** GET a path on one endpoint of a service (`who` names it); problems as strings (empty = pass). */
async function probeOne(
  input: HealthInput,
  who: string,
  endpoint: Endpoint,
  path: string,
  judge: (r: Awaited<ReturnType<typeof httpRequest>>) => string[],
): Promise<string[]> {
  try {
    const res = await httpRequest({
      endpoint,
      path,
      timeoutMs: input.config.checks.requestTimeout,
      signal: input.signal,
    });
    return judge(res).map((p) => `${who} GET ${path}: ${p}`);
  } catch (e) {
    return [errorMessage(e)];
  }
}

/** GET a path on every instance of a service (`all`), or on its first one. */
async function probe(
  input: HealthInput,
  service: string,
  path: string,
  judge: (r: Awaited<ReturnType<typeof httpRequest>>) => string[],
  all = false,
): Promise<string[]> {
  const list = input.endpoints[service] ?? [];
  if (list.length === 0) return [`${service}: no endpoint known for ${input.colour}`];
  const chosen = all ? list : list.slice(0, 1);
  const results = await Promise.all(chosen.map((e, i) => probeOne(input, instanceKey(service, i + 1), e, path, judge)));
  return results.flat();
}

function summarise(level: LevelResult['level'], name: string, problems: string[][], okDetail: string): LevelResult {
  const flat = problems.flat();
  return flat.length ? fail(level, name, flat.join('; ')) : pass(level, name, okDetail);
}

async function endpointsLevel(input: HealthInput): Promise<LevelResult> {
  const services = Object.entries(input.config.services);
  const results = await Promise.all(
    services.map(([name, s]) => probe(input, name, s.health.path, (r) => matchExpect(s.health.expect, r), true)),
  );
  const each = (n: string, s: (typeof services)[number][1]) =>
    `${n} ${s.health.path}${s.instances > 1 ? ` on all ${s.instances} instances` : ''}`;
  return summarise(3, 'health endpoints', results, services.map(([n, s]) => each(n, s)).join(', '));
}

/** The app's own view (checks.database) and a direct connection with SELECT 1, each where configured. */
async function databaseLevel(input: HealthInput): Promise<LevelResult> {
  const db = input.config.checks.database;
  const ping = input.pingDatabase;
  if (!db && !ping) return skip(4, 'database', 'no checks.database probe and no postgres backup connection configured');
  const [viaApp, direct] = await Promise.all([
    db ? probe(input, db.service, db.path, (r) => matchExpect(db.expect, r)) : Promise.resolve([]),
    ping
      ? ping().then(
          () => [],
          (e: unknown) => [`direct connection: ${errorMessage(e)}`],
        )
      : Promise.resolve([]),
  ]);
  const what = [db ? `${db.service} ${db.path}` : '', ping ? 'direct SELECT 1' : ''].filter(Boolean).join(', ');
  return summarise(4, 'database', [viaApp, direct], what);
}

/** Every route answers below 500; "/" must serve HTML when its service's health expects HTML. */
async function routesLevel(input: HealthInput): Promise<LevelResult> {
  const routes = input.config.proxy.routes;
  const results = await Promise.all(
    routes.map((r) =>
      probe(input, r.service, r.path, (res) => {
        if (res.status >= 500) return [`status ${res.status}`];
        const wantsHtml = /html/i.test(input.config.services[r.service]?.health.expect.contentType ?? '');
        const ct = res.headers['content-type'] ?? '';
        return r.path === '/' && wantsHtml && !/html/i.test(ct)
          ? [`expected an HTML page, got content-type ${JSON.stringify(ct)}`]
          : [];
      }),
    ),
  );
  return summarise(5, 'routes answer', results, routes.map((r) => `${r.path} -> ${r.service}`).join(', '));
}

/** One round of all five levels (levels 3-5 concurrently). */
export async function checkOnce(input: HealthInput): Promise<LevelResult[]> {
  const [[l1, l2], l3, l4, l5] = await Promise.all([
    levelsFromStatus(input),
    endpointsLevel(input),
    databaseLevel(input),
    routesLevel(input),
  ]);
  return [l1, l2, l3, l4, l5];
}

const passed = (levels: LevelResult[]) => levels.every((l) => l.ok);

/**
 * Healthy only after `healthyAfter` consecutive passing rounds (one lucky answer from a flapping
 * process is not enough). A dead process, or a container Docker calls unhealthy, fails at once:
 * waiting would not bring it back.
 */
export async function waitHealthy(input: WaitHealthyInput): Promise<WaitHealthyResult> {
  const checks = input.config.checks;
  const timeoutMs = input.timeoutMs ?? checks.timeout;
  const intervalMs = input.intervalMs ?? checks.interval;
  const healthyAfter = Math.max(1, input.healthyAfter ?? checks.healthyAfter);
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  // The deadline also aborts requests in flight, so a server that never answers cannot stretch the wait.
  const deadline = AbortSignal.timeout(Math.max(1, timeoutMs));
  const signal = input.signal ? AbortSignal.any([input.signal, deadline]) : deadline;
  const cancelled = () => {
    if (input.signal?.aborted)
      throw new SwitchyardError('ABORTED', `health check of ${input.colour} was cancelled`, {
        cause: input.signal.reason,
      });
  };

  let attempts = 0;
  let streak = 0;
  let levels: LevelResult[] = [];
  for (;;) {
    cancelled();
    attempts++;
    const round = await checkOnce({ ...input, signal });
    cancelled();
    // A round cut short by the deadline only says "timed out"; the previous full round says why.
    if (deadline.aborted && levels.length) return { ok: false, levels, attempts: attempts - 1, ms: elapsed() };
    levels = round;
    input.onAttempt?.(attempts, levels);
    if (passed(levels)) {
      if (++streak >= healthyAfter) return { ok: true, levels, attempts, ms: elapsed() };
    } else {
      streak = 0;
      const l1 = levels[0];
      if (l1 && !l1.ok) {
        l1.detail = `${l1.detail} - a process of ${input.colour} is gone, so waiting longer cannot help`;
        return { ok: false, levels, attempts, ms: elapsed() };
      }
      const l2 = levels[1];
      if (l2 && !l2.ok && l2.final) {
        l2.detail = `${l2.detail} - the runtime's own health check failed, so waiting longer cannot help`;
        return { ok: false, levels, attempts, ms: elapsed() };
      }
    }
    const remaining = timeoutMs - elapsed();
    if (remaining <= 0 || deadline.aborted) return { ok: false, levels, attempts, ms: elapsed() };
    try {
      await sleep(Math.min(intervalMs, remaining), undefined, { signal });
    } catch {
      cancelled();
      return { ok: false, levels, attempts, ms: elapsed() };
    }
  }
}
