/**
 * Records the request timeline of a deploy (src/state/timeline.ts): reads the proxy's per-colour
 * counters once a second while the deploy runs and keeps their differences, then writes them with
 * the deploy's steps when it ends. Only where the counters mean something: the built-in proxy
 * counts always; nginx only while a deploy watches (deploy.rollbackOn).
 */
import { errorMessage } from '../errors.js';
import { diffStats, restartedBetween, type TrafficStats } from '../proxy/stats.js';
import type { ProxyControl } from '../proxy/types.js';
import { TIMELINE_MAX_POINTS, writeTimeline, type TimelinePoint } from '../state/timeline.js';
import type { Engine } from './context.js';
import type { Operation } from './operation.js';
import { sleep } from '../util/sleep.js';

export const TIMELINE_EVERY_MS = 1_000;

export interface TimelineRecorder {
  /** Stops sampling and writes the timeline (never throws: a timeline is not worth failing a deploy for). */
  finish(error?: unknown): Promise<void>;
}

export function recordTimeline(e: Engine, op: Operation, proxy: ProxyControl): TimelineRecorder {
  const cfg = e.loaded.config;
  if (cfg.proxy.kind !== 'builtin' && !cfg.deploy.rollbackOn) return { finish: async () => undefined };
  const startedAt = new Date().toISOString();
  const points: TimelinePoint[] = [];
  let last: TrafficStats | undefined;
  const sample = async () => {
    const now = await proxy.stats().catch(() => undefined);
    if (!now) return;
    // A restarted proxy starts its counters again: that second is not a difference.
    if (last && !restartedBetween(last, now) && points.length < TIMELINE_MAX_POINTS) {
      const d = diffStats(now, last);
      const of = (c: 'blue' | 'green') => ({ requests: d.colours[c].requests, errors: d.colours[c].errors });
      points.push({ t: Date.now(), blue: of('blue'), green: of('green') });
    }
    last = now;
  };
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      await sample();
      await sleep(TIMELINE_EVERY_MS, stop.signal);
    }
  })();
  return {
    finish: async (error?: unknown) => {
      stop.abort();
      await loop;
      await sample();
      const steps = (op.journal?.snapshot().steps ?? []).map(({ title, kind, status, startedAt: s, endedAt }) => ({
        title,
        ...(kind ? { kind } : {}),
        status,
        startedAt: s,
        ...(endedAt ? { endedAt } : {}),
      }));
      await writeTimeline(e.paths, {
        version: 1,
        operation: op.id,
        type: op.type,
        from: op.from,
        to: op.to,
        release: op.release,
        startedAt,
        endedAt: new Date().toISOString(),
        result: error === undefined ? 'success' : 'failed',
        ...(error === undefined ? {} : { error: e.redact(errorMessage(error)) }),
        points,
        steps,
      }).catch((err: unknown) => e.reporter.warn(`could not write the deploy's timeline: ${errorMessage(err)}`));
    },
  };
}
