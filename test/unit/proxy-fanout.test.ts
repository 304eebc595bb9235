/**
 * FanoutControl (src/proxy/fanout.ts) over fake replicas whose routing changes only through the
 * real transitions (src/proxy/transitions.ts): a switch reaches every replica; one that fails puts
 * back those that had applied it and names the failing node; an unreachable replica refuses the
 * change before anything moved; stats and drains are merged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Colour } from '../../src/config/schema.js';
import { FanoutControl, type Replica } from '../../src/proxy/fanout.js';
import { NO_FEATURES } from '../../src/proxy/features.js';
import { emptyStats } from '../../src/proxy/stats.js';
import { applyCommand, type ProxyCommand, type Routing } from '../../src/proxy/transitions.js';
import type { ProxyControl, ProxyStatus } from '../../src/proxy/types.js';

interface Fake extends Replica {
  routing: Routing;
  /** Commands of these kinds fail on this replica. */
  failOn: Set<string>;
  down: boolean;
}

function fake(name: string): Fake {
  const f = {
    name,
    routing: {
      routes: [{ path: '/', service: 'api' }],
      backends: { blue: { api: [{ host: 'b', port: 1 }] }, green: { api: [{ host: 'g', port: 1 }] } },
      active: 'blue',
      canary: null,
      maintenance: null,
      watching: false,
      features: NO_FEATURES,
    } as Routing,
    failOn: new Set<string>(),
    down: false,
  } as Fake;
  const run = async (c: ProxyCommand) => {
    if (f.down) throw new Error('connect ECONNREFUSED');
    if (f.failOn.has(c.kind)) throw new Error(`${c.kind} broke`);
    f.routing = applyCommand(f.routing, c);
  };
  const control: ProxyControl = {
    status: async () => {
      if (f.down) throw new Error('connect ECONNREFUSED');
      return {
        ...f.routing,
        inFlight: { blue: 1, green: 2 },
        websockets: { blue: 0, green: 1 },
      } as unknown as ProxyStatus;
    },
    configure: (routes) => run({ kind: 'configure', routes }),
    setBackends: (colour, backends) => run({ kind: 'set-backends', colour, backends }),
    switchTo: (colour: Colour) => run({ kind: 'switch', colour }),
    setWeight: (colour, percent) => run({ kind: 'weight', colour, percent }),
    setMaintenance: (m) =>
      run(m.on ? { kind: 'maintenance-on', now: new Date().toISOString() } : { kind: 'maintenance-off' }),
    setWatch: (on) => run({ kind: 'watch', on }),
    stats: async () => {
      const s = emptyStats(true);
      s.colours.blue.requests = 10;
      s.colours.blue.errors = 1;
      s.colours.blue.latency[3] = 10;
      return s;
    },
    drain: async (_c, ms) => ({ inFlight: 1, websocketsClosed: 2, timedOut: ms < 10, ms }),
  };
  f.control = control;
  return f;
}

describe('FanoutControl', () => {
  it('a switch reaches every replica; status adds up what is in flight', async () => {
    const rs = [fake('n1'), fake('n2'), fake('n3')];
    const f = new FanoutControl(rs);
    await f.switchTo('green');
    assert.deepEqual(
      rs.map((r) => r.routing.active),
      ['green', 'green', 'green'],
    );
    const s = await f.status();
    assert.deepEqual(s.inFlight, { blue: 3, green: 6 });
    assert.deepEqual(s.websockets, { blue: 0, green: 3 });
  });

  it('one replica failing puts back those that applied it, and names it', async () => {
    const rs = [fake('n1'), fake('n2'), fake('n3')];
    rs[0]!.routing = applyCommand(rs[0]!.routing, { kind: 'weight', colour: 'green', percent: 20 });
    rs[1]!.routing = applyCommand(rs[1]!.routing, { kind: 'weight', colour: 'green', percent: 20 });
    rs[2]!.routing = applyCommand(rs[2]!.routing, { kind: 'weight', colour: 'green', percent: 20 });
    rs[2]!.failOn.add('switch');
    const f = new FanoutControl(rs);
    await assert.rejects(f.switchTo('green'), (e: Error) => {
      assert.match(e.message, /could not switch to green on the edge proxy on n3: switch broke/);
      assert.match(e.message, /n1, n2 put back as before/);
      return true;
    });
    for (const r of rs) {
      assert.equal(r.routing.active, 'blue', `${r.name} serves blue again`);
      assert.deepEqual(r.routing.canary, { colour: 'green', percent: 20 }, `${r.name} has its split again`);
    }
  });

  it('an unreachable replica refuses a routing change before anything moved', async () => {
    const rs = [fake('n1'), fake('n2')];
    rs[1]!.down = true;
    const f = new FanoutControl(rs);
    await assert.rejects(f.setWeight('green', 10), /edge proxy on n2 cannot be reached .*nothing was changed/);
    assert.equal(rs[0]!.routing.canary, null);
    await assert.rejects(f.setMaintenance({ on: true }), /n2 cannot be reached/);
    assert.equal(rs[0]!.routing.maintenance, null);
  });

  it('merges stats and drains', async () => {
    const f = new FanoutControl([fake('n1'), fake('n2')]);
    const s = await f.stats();
    assert.equal(s.colours.blue.requests, 20);
    assert.equal(s.colours.blue.errors, 2);
    assert.equal(s.colours.blue.latency[3], 20);
    assert.equal(s.enabled, true);
    assert.deepEqual(await f.drain('blue', 5), {
      inFlight: 2,
      websocketsClosed: 4,
      timedOut: true,
      ms: 5,
      openAtStart: { requests: 0, websockets: 0, streams: 0 },
    });
  });

  it('brings a replica that routes differently in line with the others', async () => {
    const rs = [fake('n1'), fake('n2'), fake('n3')];
    for (const r of rs.slice(0, 2)) r.routing = applyCommand(r.routing, { kind: 'switch', colour: 'green' });
    const f = new FanoutControl(rs);
    const notes = await f.reconcile();
    assert.deepEqual(
      rs.map((r) => r.routing.active),
      ['green', 'green', 'green'],
    );
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /edge proxy on n3 routed to blue, unlike the others .*now routes to green/);
    assert.deepEqual(await f.reconcile(), [], 'nothing to do once they agree');
  });

  it('refuses to be made of no replica', () => {
    assert.throws(() => new FanoutControl([]), /no edge proxy replica is running/);
  });
});
