/**
 * One test body run against both proxies (the built-in one in this process, and a real nginx run
 * by its driver): every change of routing state goes through proxy/transitions.ts, so a command
 * one proxy refuses, the other refuses with the same message and hint, and what they accept
 * leaves them in the same state (status: active, split, maintenance, counting).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ProxyServer } from '../../src/proxy/builtin/server.js';
import type { ProxyControl } from '../../src/proxy/types.js';
import { freePort, startBackend, type TestBackend } from '../helpers/backends.js';
import { budget } from '../helpers/budget.js';
import { nginxProject, type NginxProject } from '../helpers/nginx.js';
import { local } from '../helpers/proxy.js';

const routes = [{ path: '/', service: 'app' }];

interface Subject {
  control: ProxyControl;
  close(): Promise<void>;
}

const subjects: Record<string, () => Promise<Subject>> = {
  'built-in proxy': async () => {
    const proxy = await ProxyServer.start({
      listen: { host: '127.0.0.1', port: 0 },
      routes,
      backends: {},
      active: null,
    });
    return { control: proxy, close: () => proxy.close(1_000) };
  },
  nginx: async () => {
    const p: NginxProject = await nginxProject(routes);
    const { control } = await p.driver.ensure();
    return { control, close: () => p.cleanup() };
  },
};

/** The refusal as data: what each proxy must answer the same. */
async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string; hint: string }> {
  try {
    await p;
  } catch (e) {
    const { code, message, hint } = e as { code: string; message: string; hint: string };
    return { code, message, hint };
  }
  throw new Error('the call was accepted');
}

/** Each proxy's answers, to compare across proxies after both ran. */
const seen: Record<string, Record<string, unknown>> = {};

for (const [name, start] of Object.entries(subjects)) {
  describe(`proxy transitions: ${name}`, () => {
    let s: Subject;
    let blue: TestBackend;
    const answers: Record<string, unknown> = {};
    seen[name] = answers;

    before(async () => {
      blue = await startBackend('blue');
      s = await start();
    }, budget(1_500));
    after(async () => {
      await s?.close();
      await blue?.close();
    }, budget(1_000));

    it(
      'refuses a split before any colour is active, and a switch to a colour without backends',
      budget(500),
      async () => {
        answers.weightNoActive = await refusal(s.control.setWeight('green', 10));
        answers.switchNoBackends = await refusal(s.control.switchTo('blue'));
        assert.equal((await s.control.status()).active, null, 'nothing was switched');
      },
    );

    it(
      'switches once the colour has backends; refuses a split to the active colour or one without backends',
      budget(1_000),
      async () => {
        await s.control.setBackends('blue', { app: [local(blue.port)] });
        await s.control.switchTo('blue');
        assert.equal((await s.control.status()).active, 'blue');
        answers.weightToActive = await refusal(s.control.setWeight('blue', 10));
        answers.weightNoBackends = await refusal(s.control.setWeight('green', 10));
        answers.badPercent = (await refusal(s.control.setWeight('green', 100))).code;
        assert.equal((await s.control.status()).canary, null);
      },
    );

    it('refuses to drain the active colour and a colour that still has a canary share', budget(1_500), async () => {
      answers.drainActive = await refusal(s.control.drain('blue', 100));
      await s.control.setBackends('green', { app: [local(await freePort())] });
      await s.control.setWeight('green', 20);
      assert.deepEqual((await s.control.status()).canary, { colour: 'green', percent: 20 });
      answers.drainCanary = await refusal(s.control.drain('green', 100));
      // A switch ends the split; then the colour that no longer gets traffic drains.
      await s.control.switchTo('blue');
      assert.equal((await s.control.status()).canary, null);
      const d = await s.control.drain('green', 2_000);
      assert.equal(d.inFlight, 0, 'nothing was in flight to green');
    });

    it('maintenance keeps the time it was turned on when only its message changes', budget(500), async () => {
      await s.control.setMaintenance({ on: true, message: 'first' });
      const first = (await s.control.status()).maintenance;
      assert.equal(first?.message, 'first');
      await new Promise((r) => setTimeout(r, 20));
      await s.control.setMaintenance({ on: true, message: 'second' });
      const second = (await s.control.status()).maintenance;
      assert.deepEqual(second, { message: 'second', since: first?.since });
      await s.control.setMaintenance({ on: false });
      assert.equal((await s.control.status()).maintenance, null);
      answers.emptyMessage = (await refusal(s.control.setMaintenance({ on: true, message: '' }))).code;
    });

    it('counting on and off', budget(500), async () => {
      await s.control.setWatch(true);
      assert.equal((await s.control.status()).watching, true);
      await s.control.setWatch(false);
      assert.equal((await s.control.status()).watching, false);
    });
  });
}

describe('proxy transitions: both proxies answer alike', () => {
  it('every refusal has the same code, message and hint in both proxies', budget(100), () => {
    const [a, b] = Object.keys(subjects).map((k) => seen[k]!);
    assert.ok(a && b && Object.keys(a).length >= 7, JSON.stringify(seen));
    assert.deepEqual(b, a);
    assert.match(
      String((a.drainActive as { message: string }).message),
      /^cannot drain blue: it is the active colour$/,
    );
    assert.match(
      String((a.drainCanary as { message: string }).message),
      /^cannot drain green: a canary split still sends it 20% of clients$/,
    );
    assert.match(
      String((a.switchNoBackends as { message: string }).message),
      /^cannot switch to blue: no backend for "app"$/,
    );
  });
});
