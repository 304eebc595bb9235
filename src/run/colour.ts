/** Bringing a colour up and proving it fit for traffic (I1): start, health levels, smoke steps. */
import type { Colour } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { urlOf } from '../checks/http.js';
import { formatDuration } from '../config/duration.js';
import { indent } from '../util/indent.js';
import { waitHealthy, type LevelResult } from '../checks/health.js';
import { runSmoke } from '../checks/smoke.js';
import type { ProxyControl } from '../proxy/types.js';
import type { Endpoint, ServiceEndpoints } from '../runtime/types.js';
import type { Engine } from './context.js';
import { databasePing } from './backup.js';
import type { Operation } from './operation.js';
import type { StepHandle } from './reporter.js';

/**
 * Snapshot + build a release and start it as `target`. Registers the undo (stop the target, or
 * keep it for debugging with --keep-old) before anything can be left running.
 */
export async function buildAndStart(
  e: Engine,
  op: Operation,
  proxy: ProxyControl,
  target: Colour,
  h: StepHandle,
  opts: { ref?: string; keepOld?: boolean } = {},
): Promise<string> {
  h.update('snapshot and build');
  const rel = await e.runtime.prepare({ ref: opts.ref, signal: e.signal });
  op.release = rel.id;
  op.onFailure(async () => {
    if (opts.keepOld) return `${target} kept running for debugging (--keep-old); it gets no traffic`;
    await e.runtime.stop(target);
    return `${target} stopped`;
  });
  h.update(`starting release ${rel.id}`);
  await startColour(e, proxy, target, rel.id);
  return rel.id;
}

export async function startColour(
  e: Engine,
  proxy: ProxyControl,
  colour: Colour,
  release: string,
): Promise<ServiceEndpoints> {
  await e.runtime.start(colour, release, { signal: e.signal });
  const endpoints = await e.runtime.endpoints(colour);
  await proxy.setBackends(colour, await backendsOf(e, colour, endpoints));
  return endpoints;
}

/**
 * What the proxy routes to for the colour: its endpoints, unless the runtime says otherwise (swarm:
 * the tasks' DNS name on the overlay, which the edge proxies resolve, not this machine's forwards).
 */
export async function backendsOf(e: Engine, colour: Colour, endpoints?: ServiceEndpoints): Promise<ServiceEndpoints> {
  if (e.runtime.backends) return e.runtime.backends(colour);
  return endpoints ?? (await e.runtime.endpoints(colour));
}

function describeLevels(levels: LevelResult[]): string[] {
  return levels.map(
    (l) =>
      `level ${l.level} ${l.name}: ${l.skipped ? 'skipped' : l.ok ? 'ok' : 'FAILED'}` +
      `${l.detail ? ' - ' + l.detail : ''}`,
  );
}

/**
 * A colour whose processes were already running needs one passing round, within this (or checks.timeout when shorter).
 */
export const WARM_HEALTH_TIMEOUT_MS = 10_000;

/**
 * The check before traffic moves to an already running colour (switch, switch --weight, preview):
 * one passing health round. With `force`, a failure is shown and the command goes on.
 */
export async function warmHealthGate(
  e: Engine,
  colour: Colour,
  h: StepHandle,
  opts: { force?: boolean } = {},
): Promise<void> {
  try {
    h.ok(
      await healthGate(e, colour, h, {
        warm: true,
        timeoutMs: Math.min(e.loaded.config.checks.timeout, WARM_HEALTH_TIMEOUT_MS),
      }),
    );
  } catch (err) {
    if (!opts.force) throw err;
    h.fail(`${errorMessage(err)} (continuing: --force)`);
  }
}

/** Waits until the colour passes every health level `healthyAfter` times in a row (or 1 when `warm`). */
export async function healthGate(
  e: Engine,
  colour: Colour,
  h: StepHandle,
  opts: { warm?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  const c = e.loaded.config.checks;
  const endpoints = await e.runtime.endpoints(colour);
  const result = await waitHealthy({
    config: e.loaded.config,
    colour,
    endpoints,
    status: () => e.runtime.status(colour),
    pingDatabase: databasePing(e),
    projectDir: e.paths.root,
    timeoutMs: opts.timeoutMs ?? c.timeout,
    intervalMs: c.interval,
    healthyAfter: opts.warm ? 1 : c.healthyAfter,
    signal: e.signal,
    onAttempt: (n: number, levels: LevelResult[]) => {
      const bad = levels.find((l) => !l.ok && !l.skipped);
      h.update(bad ? `attempt ${n}: level ${bad.level} ${bad.name} not yet` : `attempt ${n}: passing`);
    },
  });
  for (const l of result.levels) e.reporter.event('health', { colour, ...l });
  if (!result.ok) {
    const timeoutMs = opts.timeoutMs ?? c.timeout;
    const details = describeLevels(result.levels);
    // Say which bound ran out, so the user knows which setting to look at (a dead process gives up earlier).
    const bound =
      result.ms >= timeoutMs - c.interval
        ? ` within ${formatDuration(timeoutMs)}${timeoutMs === c.timeout ? ' (checks.timeout)' : ''}`
        : '';
    throw new SwitchyardError(
      'HEALTH_FAILED',
      `${colour} did not become healthy${bound} after ${result.attempts} checks (${Math.round(result.ms)} ms)`,
      {
        details: [...details, ...(await lastWords(e, colour, result.levels[0]?.down ?? []))],
        hint: await unreachableHint(e, colour, details, `see its logs: switchyard logs ${colour}`),
      },
    );
  }
  // A process that crashed during the checks and was started again by the supervisor may pass them
  // now, but it runs the release that just crashed: not fit for traffic (I1).
  if (!opts.warm) {
    const restarted = (await e.runtime.status(colour)).filter((s) => (s.restarts ?? 0) > 0);
    if (restarted.length > 0) {
      throw new SwitchyardError(
        'HEALTH_FAILED',
        `${colour} did not become healthy: ` +
          restarted
            .map((s) => `${s.service} exited during the checks (it ${s.lastExit ?? 'exited'}) and was started again`)
            .join('; '),
        { details: await lastWords(e, colour), hint: `see its logs: switchyard logs ${colour}` },
      );
    }
  }
  return `healthy after ${result.attempts} check${result.attempts === 1 ? '' : 's'}`;
}

const LAST_LINES = 10;

/**
 * The last lines of each service of the colour that is gone or was started again, so a health
 * failure shows why without a second command (an app that crashes just after the start grace).
 */
async function lastWords(e: Engine, colour: Colour, foundDown: string[] = []): Promise<string[]> {
  if (!e.runtime.tail) return [];
  // Those the checks found down, and any gone or restarted since (the supervisor may already have
  // started one again, so a fresh status alone can miss the very service that failed).
  const statuses = await e.runtime.status(colour).catch(() => []);
  const names = new Set([
    ...foundDown,
    ...statuses.filter((x) => !x.running || (x.restarts ?? 0) > 0).map((x) => x.service),
  ]);
  const out: string[] = [];
  for (const service of names) {
    const text = await e.runtime.tail(colour, service, LAST_LINES).catch(() => '');
    if (text) out.push(`last lines of ${service} (${colour}):\n${indent(text)}`);
  }
  return out;
}

/** What a check reports when the colour's port accepted nothing, or closed without an answer (checks/http.ts). */
const UNREACHABLE = /: connection (refused|reset)\b/;

/**
 * The hint of a failed health or smoke gate: the runtime's word on why a running colour's ports do
 * not answer (an app in a container bound to 127.0.0.1), ahead of `hint`, when a check saw that.
 */
async function unreachableHint(e: Engine, colour: Colour, details: string[], hint: string): Promise<string> {
  if (!e.runtime.unreachableHint || !details.some((d) => UNREACHABLE.test(d))) return hint;
  // Only a better hint is at stake: an engine that does not answer now leaves the plain one.
  const why = await e.runtime.unreachableHint(colour).catch(() => undefined);
  return why ? `${why}; ${hint}` : hint;
}

/**
 * checks.smokeVia: preview: every service is reached through the proxy's preview listener (the real
 * proxy path), after proving that the listener serves `colour` (its X-Switchyard-Env header).
 */
async function viaPreview(e: Engine, colour: Colour): Promise<ServiceEndpoints> {
  const cfg = e.loaded.config;
  const port = cfg.proxy.listen.preview;
  if (port === undefined)
    throw new SwitchyardError('CONFIG_INVALID', 'checks.smokeVia is preview but proxy.listen.preview is not set');
  // A proxy with several public entries (the swarm edge): the preview port of the first edge node.
  const entry = e.proxy.entries ? (await e.proxy.entries())[0] : undefined;
  const at: Endpoint = { host: entry?.host ?? cfg.proxy.preview.host, port };
  const route = cfg.proxy.routes.find((r) => r.path === '/') ?? cfg.proxy.routes[0]!;
  const url = `${urlOf(at)}${cfg.services[route.service]?.health.path ?? route.path}`;
  let seen: string | null = null;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(cfg.checks.requestTimeout) });
    await res.body?.cancel();
    seen = res.headers.get('x-switchyard-env');
  } catch (err) {
    throw new SwitchyardError(
      'SMOKE_FAILED',
      `the preview listener ${urlOf(at)} does not answer: ${errorMessage(err)}`,
      { hint: '`switchyard status` shows the proxy' },
    );
  }
  if (seen !== colour)
    throw new SwitchyardError('SMOKE_FAILED', `the preview listener serves ${seen ?? 'no colour'}, not ${colour}`, {
      hint: '`switchyard status` shows the proxy and the colours',
    });
  return Object.fromEntries(Object.keys(cfg.services).map((s) => [s, [at]]));
}

export async function smokeGate(e: Engine, colour: Colour, h: StepHandle): Promise<void> {
  const steps = e.loaded.config.checks.smoke;
  if (steps.length === 0) {
    h.skip('no smoke steps configured (checks.smoke)');
    return;
  }
  const endpoints =
    e.loaded.config.checks.smokeVia === 'preview' ? await viaPreview(e, colour) : await e.runtime.endpoints(colour);
  const result = await runSmoke({
    config: e.loaded.config,
    colour,
    endpoints,
    projectDir: e.paths.root,
    signal: e.signal,
    onStep: (s) => {
      h.update(`${s.name} ${s.ok ? '✓' : '✗'}`);
      e.reporter.event('smoke', { colour, ...s });
    },
  });
  if (!result.ok) {
    const failed = result.steps.find((s) => !s.ok);
    const details = result.steps.map((s) => `${s.ok ? '✓' : '✗'} ${s.name}${s.detail ? ': ' + s.detail : ''}`);
    throw new SwitchyardError('SMOKE_FAILED', `smoke step "${failed?.name ?? '?'}" failed on ${colour}`, {
      details,
      hint: await unreachableHint(
        e,
        colour,
        details,
        `run \`switchyard smoke ${colour}\` to repeat them, and see \`switchyard logs ${colour}\``,
      ),
    });
  }
  h.ok(`${result.steps.length} steps passed`);
}
