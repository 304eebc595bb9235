/**
 * One ProxyControl over several proxy replicas (the swarm edge proxy: one per edge node), keeping
 * I3 across nodes: a routing change (switch, weight, maintenance) first reads every replica, and is
 * refused, nothing changed, when one cannot be reached; it then goes to each replica in turn and
 * returns once all applied it; when one fails, those that applied it are put back to what they
 * served before, and the call fails naming the replica. After any call returns, no two replicas
 * route differently (unless a replica could not be put back, which the error says).
 * Figures (status, stats, drains) are the replicas' merged.
 */
import type { Colour, Route } from '../config/schema.js';
import { errorMessage, SwitchyardError } from '../errors.js';
import { mergeDrain, mergeStats, sumOpen } from './builtin/replica-protocol.js';
import type { TrafficStats } from './stats.js';
import type { Backends, ConfigureOptions, DrainOptions, DrainResult, ProxyControl, ProxyStatus } from './types.js';

export interface Replica {
  /** Where it runs, for messages: the node's name. */
  name: string;
  control: ProxyControl;
}

/** What a replica served, enough to put it back. */
type Routing = Pick<ProxyStatus, 'active' | 'canary' | 'maintenance'>;

const unreachable = (r: Replica, e: unknown) =>
  new SwitchyardError(
    'PROXY_FAILED',
    `the edge proxy on ${r.name} cannot be reached (${errorMessage(e)}): nothing was changed`,
    {
      hint:
        '`switchyard status` shows every node; bring the node back, or let Swarm move its tasks' +
        ', then run the command again',
    },
  );

export class FanoutControl implements ProxyControl {
  constructor(readonly replicas: Replica[]) {
    if (replicas.length === 0)
      throw new SwitchyardError('PROXY_FAILED', 'no edge proxy replica is running', {
        hint: '`switchyard status` shows the nodes; `switchyard init` starts the edge proxy',
      });
  }

  /** Every replica's status; the first failure refuses, naming its replica. */
  async statuses(): Promise<ProxyStatus[]> {
    return Promise.all(
      this.replicas.map((r) => r.control.status().catch((e: unknown) => Promise.reject(unreachable(r, e)))),
    );
  }

  /** The first replica's status, with every replica's requests and WebSockets in flight added up. */
  async status(): Promise<ProxyStatus> {
    const all = await this.statuses();
    return {
      ...all[0]!,
      ...sumOpen(all),
      nodes: all.map((s, i) => ({ node: this.replicas[i]!.name, reachable: true, active: s.active, canary: s.canary })),
    };
  }

  configure(routes: Route[], opts?: ConfigureOptions): Promise<void> {
    return this.everywhere('configure the routes', (c) => c.configure(routes, opts));
  }

  setBackends(colour: Colour, backends: Backends): Promise<void> {
    return this.everywhere(`set the backends of ${colour}`, (c) => c.setBackends(colour, backends));
  }

  setWatch(on: boolean): Promise<void> {
    return this.everywhere(`turn counting ${on ? 'on' : 'off'}`, (c) => c.setWatch(on));
  }

  switchTo(colour: Colour): Promise<void> {
    return this.allOrNothing(`switch to ${colour}`, (c) => c.switchTo(colour));
  }

  setWeight(colour: Colour, percent: number): Promise<void> {
    return this.allOrNothing(`send ${percent}% to ${colour}`, (c) => c.setWeight(colour, percent));
  }

  setMaintenance(m: { on: true; message?: string } | { on: false }): Promise<void> {
    return this.allOrNothing(`turn maintenance ${m.on ? 'on' : 'off'}`, (c) => c.setMaintenance(m));
  }

  /** The replicas' counts added up, per colour and latency bucket. */
  async stats(): Promise<TrafficStats> {
    const all = await Promise.all(this.replicas.map((r) => r.control.stats()));
    // Counting only when every replica counts: otherwise the sums leave some traffic out.
    return { ...mergeStats(all), enabled: all.every((s) => s.enabled) };
  }

  /** Every replica drains at once; the colour is drained when all are. */
  async drain(colour: Colour, timeoutMs: number, opts?: DrainOptions): Promise<DrainResult> {
    return mergeDrain(await Promise.all(this.replicas.map((r) => r.control.drain(colour, timeoutMs, opts))));
  }

  /**
   * Replicas that route differently (one that was down while the others switched, and came back
   * with what it served before) are brought to what most of them do (ties: the first replica's).
   * Returns one line per replica changed, for the user. `known`: the replicas' statuses, when the
   * caller has just read them (in replica order).
   */
  async reconcile(known?: ProxyStatus[]): Promise<string[]> {
    const all = known ?? (await this.statuses());
    const key = (s: Routing) => JSON.stringify([s.active, s.canary ?? null, s.maintenance?.message ?? null]);
    const votes = new Map<string, number>();
    for (const s of all) votes.set(key(s), (votes.get(key(s)) ?? 0) + 1);
    const best = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    const target = all.find((s) => key(s) === best)!;
    const notes: string[] = [];
    for (const [i, s] of all.entries()) {
      if (key(s) === best) continue;
      const r = this.replicas[i]!;
      const stuck = await putBack(r, target);
      notes.push(
        stuck
          ? `the edge proxy on ${r.name} routes to ${s.active ?? 'nothing'}, unlike the others` +
              ', and could not be changed'
          : `the edge proxy on ${r.name} routed to ${s.active ?? 'nothing'}, unlike the others ` +
              `(it was not reached by an earlier change): now routes to ${target.active ?? 'nothing'} as they do`,
      );
    }
    return notes;
  }

  /** Not routing (what each replica may route to, how it counts): to all, naming any that failed. */
  private async everywhere(what: string, apply: (c: ProxyControl) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(this.replicas.map((r) => apply(r.control)));
    const failed = results.flatMap((x, i) => (x.status === 'rejected' ? [[this.replicas[i]!, x.reason] as const] : []));
    if (failed.length > 0) {
      const [r, e] = failed[0]!;
      throw new SwitchyardError(
        'PROXY_FAILED',
        `could not ${what} on the edge proxy on ${r.name}: ${errorMessage(e)}`,
        {
          hint: '`switchyard status` shows every node',
        },
      );
    }
  }

  private async allOrNothing(what: string, apply: (c: ProxyControl) => Promise<void>): Promise<void> {
    const before = await this.statuses();
    const done: number[] = [];
    for (const [i, r] of this.replicas.entries()) {
      try {
        await apply(r.control);
        done.push(i);
      } catch (e) {
        const back = await Promise.all(done.map((j) => putBack(this.replicas[j]!, before[j]!)));
        const stuck = back.filter((x): x is string => x !== undefined);
        throw new SwitchyardError(
          'PROXY_FAILED',
          `could not ${what} on the edge proxy on ${r.name}: ${errorMessage(e)}` +
            (done.length === 0
              ? '; nothing was changed'
              : stuck.length === 0
                ? `; ${done.map((j) => this.replicas[j]!.name).join(', ')} put back as before`
                : `; could NOT put back ${stuck.join(', ')}: the nodes now route differently`),
          { hint: '`switchyard status` shows every node; run the command again once the node is back' },
        );
      }
    }
  }
}

/** Puts a replica back to `was`; the replica's name when that failed. */
async function putBack(r: Replica, was: Routing): Promise<string | undefined> {
  try {
    if (was.active) await r.control.switchTo(was.active);
    if (was.canary) await r.control.setWeight(was.canary.colour, was.canary.percent);
    await r.control.setMaintenance(was.maintenance ? { on: true, message: was.maintenance.message } : { on: false });
    return was.active === null ? r.name : undefined;
  } catch {
    return r.name;
  }
}
