import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkOnce, waitHealthy, type HealthInput } from '../../src/checks/health.ts';
import { matchExpect } from '../../src/checks/expect.ts';
import { runSmoke } from '../../src/checks/smoke.ts';
import type { ServiceStatus } from '../../src/runtime/types.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { SwitchyardError } from '../../src/errors.ts';
import {
  apiServer,
  checkConfig,
  flappingServer,
  silentServer,
  slowStartServer,
  webServer,
  type TestServer,
} from '../helpers/check-servers.ts';
import { budget } from '../helpers/budget.ts';

const servers: TestServer[] = [];
const track = async (p: Promise<TestServer>) => {
  const s = await p;
  servers.push(s);
  return s;
};
const tmp = mkdtempSync(path.join(tmpdir(), 'sy-checks-'));
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(tmp, { recursive: true, force: true });
}, budget(100));

/** Gone or a zombie (an orphan waits for pid 1 to reap it, which may take a while in a container). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const running =
  (names: string[], extra: Partial<ServiceStatus> = {}) =>
  async (): Promise<ServiceStatus[]> =>
    names.map((service, i) => ({ service, running: true, pid: 1000 + i, ...extra }));

async function pair(api: Parameters<typeof apiServer>[0] = {}, web: Parameters<typeof webServer>[0] = {}) {
  const a = await track(apiServer(api));
  const w = await track(webServer(web));
  return { api: a, web: w, endpoints: { api: [a.endpoint], web: [w.endpoint] } };
}

function input(endpoints: HealthInput['endpoints'], over: Partial<HealthInput> = {}): HealthInput {
  return { config: checkConfig(), colour: 'green', endpoints, status: running(['api', 'web']), ...over };
}

const level = (levels: Awaited<ReturnType<typeof checkOnce>>, n: number) => {
  const l = levels.find((x) => x.level === n);
  assert.ok(l, `level ${n} missing`);
  return l;
};

describe('matchExpect', () => {
  const res = {
    status: 200,
    headers: { 'Content-Type': 'application/json', 'X-Env': 'green' },
    bodyText: '{"a":{"b":[1,{"c":"x"}]},"empty":"","n":null}',
  };
  test('passes a deep subset with "*" and case-insensitive headers', budget(100), () => {
    assert.deepEqual(
      matchExpect(
        {
          status: [200, 204],
          json: { a: { b: [1, { c: '*' }] } },
          contentType: 'JSON',
          headers: { 'x-env': 'green', 'content-type': '*' },
        },
        res,
      ),
      [],
    );
  });
  test('says what was expected and what came', budget(100), () => {
    const p = matchExpect(
      {
        status: 201,
        json: { a: { b: [2] }, empty: '*', n: '*', gone: 1 },
        headers: { 'x-missing': '*' },
        bodyContains: 'zzz',
      },
      res,
    );
    assert.ok(p.some((x) => /^status: expected 201, got 200/.test(x)));
    assert.ok(p.includes('json.a.b[0]: expected 2, got 1'));
    assert.ok(p.includes('json.empty: expected a value, got ""'));
    assert.ok(p.includes('json.n: expected a value, got null'));
    assert.ok(p.includes('json.gone: expected 1, got nothing'));
    assert.ok(p.includes('header x-missing: missing'));
    assert.ok(p.some((x) => x.startsWith('body: expected to contain "zzz"')));
  });
  test('without status any 2xx passes; long bodies are cut', budget(100), () => {
    assert.deepEqual(matchExpect({}, { status: 204, headers: {}, bodyText: '' }), []);
    const [p] = matchExpect({}, { status: 500, headers: {}, bodyText: 'x'.repeat(1000) });
    assert.ok(p && p.length < 300 && p.includes('(1000 chars)'));
  });
});

describe('health levels', () => {
  test(
    'all five levels pass (level 2 skipped without runtime health, level 4 probing the database)',
    budget(100),
    async () => {
      const { endpoints } = await pair();
      const config = checkConfig({
        checks: { database: { service: 'api', path: '/api/health', expect: { json: { database: 'connected' } } } },
      });
      const levels = await checkOnce(input(endpoints, { config }));
      assert.deepEqual(
        levels.map((l) => [l.level, l.ok, l.skipped]),
        [
          [1, true, false],
          [2, true, true],
          [3, true, false],
          [4, true, false],
          [5, true, false],
        ],
      );
      assert.match(level(levels, 1).detail, /api \(pid 1000\)/);
    },
  );

  test('level 1 fails when a process is not running, and waitHealthy gives up at once', budget(100), async () => {
    const { endpoints } = await pair();
    const status = async (): Promise<ServiceStatus[]> => [
      { service: 'api', running: false, detail: 'exited with code 1' },
      { service: 'web', running: true },
    ];
    const t0 = Date.now();
    const r = await waitHealthy({
      ...input(endpoints, { status }),
      timeoutMs: 10_000,
      intervalMs: 50,
      healthyAfter: 2,
    });
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
    assert.ok(Date.now() - t0 < 3000);
    assert.match(level(r.levels, 1).detail, /api: not running \(exited with code 1\).*waiting longer cannot help/);
  });

  test('level 2 uses the runtime health where defined', budget(100), async () => {
    const { endpoints } = await pair();
    const sick = await checkOnce(
      input(endpoints, {
        status: async () => [
          { service: 'api', running: true, healthy: false, detail: 'starting' },
          { service: 'web', running: true, healthy: true },
        ],
      }),
    );
    assert.equal(level(sick, 2).ok, false);
    assert.match(level(sick, 2).detail, /api: unhealthy \(starting\)/);
    const fine = await checkOnce(input(endpoints, { status: running(['api', 'web'], { healthy: true }) }));
    assert.deepEqual([level(fine, 2).ok, level(fine, 2).skipped], [true, false]);
  });

  test('level 3 fails when a health endpoint answers differently', budget(100), async () => {
    const { endpoints } = await pair({ health: 'degraded' });
    const l3 = level(await checkOnce(input(endpoints)), 3);
    assert.equal(l3.ok, false);
    assert.match(l3.detail, /api GET \/api\/health: json\.status: expected "ok", got "degraded"/);
  });

  test('level 3 fails when nothing listens', budget(100), async () => {
    const { web } = await pair();
    const l3 = level(await checkOnce(input({ api: [{ host: '127.0.0.1', port: 1 }], web: [web.endpoint] })), 3);
    assert.equal(l3.ok, false);
    assert.match(l3.detail, /connection refused/);
  });

  test('level 4 fails when the database is disconnected, and is skipped when not configured', budget(100), async () => {
    const { endpoints } = await pair({ database: 'disconnected' });
    const config = checkConfig({
      checks: { database: { service: 'api', path: '/api/health', expect: { json: { database: 'connected' } } } },
    });
    const l4 = level(await checkOnce(input(endpoints, { config })), 4);
    assert.equal(l4.ok, false);
    assert.match(l4.detail, /json\.database: expected "connected", got "disconnected"/);
    const skipped = level(await checkOnce(input(endpoints)), 4);
    assert.deepEqual([skipped.ok, skipped.skipped], [true, true]);
  });

  test('level 5 fails on a 5xx route and on a frontend that does not serve HTML', budget(100), async () => {
    const { endpoints } = await pair();
    const config = checkConfig({
      routes: [
        { path: '/api/boom', service: 'api' },
        { path: '/api', service: 'api' },
        { path: '/', service: 'web' },
      ],
    });
    const l5 = level(await checkOnce(input(endpoints, { config })), 5);
    assert.equal(l5.ok, false);
    assert.match(l5.detail, /api GET \/api\/boom: status 502/);

    const plain = await pair({}, { html: false });
    const config2 = checkConfig({
      services: {
        api: { command: 'x', health: { path: '/api/health' } },
        web: { command: 'x', health: { path: '/health' } },
      },
    });
    assert.equal(
      level(await checkOnce(input(plain.endpoints, { config: config2 })), 5).ok,
      true,
      'HTML is only required when web health expects it',
    );
    const l5b = level(await checkOnce(input(plain.endpoints)), 5);
    assert.equal(l5b.ok, false);
    assert.match(l5b.detail, /web GET \/: expected an HTML page/);
  });
});

describe('waitHealthy', () => {
  const single = (s: TestServer) => ({
    config: checkConfig({
      services: { api: { command: 'x', health: { path: '/health' } } },
      routes: [{ path: '/', service: 'api' }],
    }),
    colour: 'blue' as const,
    endpoints: { api: [s.endpoint] },
    status: running(['api']),
  });

  test('needs healthyAfter consecutive passing rounds', budget(100), async () => {
    const { endpoints } = await pair();
    const seen: number[] = [];
    const r = await waitHealthy({
      ...input(endpoints),
      timeoutMs: 5000,
      intervalMs: 20,
      healthyAfter: 3,
      onAttempt: (n) => seen.push(n),
    });
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 3);
    assert.deepEqual(seen, [1, 2, 3]);
  });

  test('a server alternating 200/500 never becomes healthy', budget(1_200), async () => {
    const s = await track(flappingServer());
    const r = await waitHealthy({ ...single(s), timeoutMs: 1200, intervalMs: 30, healthyAfter: 2 });
    assert.equal(r.ok, false);
    assert.ok(r.attempts >= 5, `only ${r.attempts} attempts`);
    assert.ok(r.ms < 2500);
  });

  test('a server that is ready after 1 s becomes healthy within the timeout', budget(1_200), async () => {
    const s = await track(slowStartServer(1000));
    const r = await waitHealthy({ ...single(s), timeoutMs: 5000, intervalMs: 100, healthyAfter: 2 });
    assert.equal(r.ok, true, JSON.stringify(r.levels));
    assert.ok(r.ms >= 900 && r.ms < 4000, `took ${r.ms} ms`);
  });

  test(
    'a server that never answers: the wait ends at its deadline, not at the request timeout',
    budget(800),
    async () => {
      const s = await track(silentServer());
      // Each request alone would wait a minute: only the wait's deadline (800 ms) can end it sooner.
      // The bound is behaviour, not speed: far below the minute, far above any loaded machine's delay.
      const config = checkConfig({
        services: { api: { command: 'x', health: { path: '/health' } } },
        routes: [{ path: '/', service: 'api' }],
        checks: { requestTimeout: '60s' },
      });
      const t0 = Date.now();
      const r = await waitHealthy({ ...single(s), config, timeoutMs: 800, intervalMs: 50, healthyAfter: 1 });
      const took = Date.now() - t0;
      assert.equal(r.ok, false);
      assert.ok(took < 30_000, `took ${took} ms: the request timeout, not the deadline, ended it`);
      assert.match(level(r.levels, 3).detail, /no answer/);
    },
  );

  test('an abort signal stops the wait with ABORTED', budget(200), async () => {
    const s = await track(silentServer());
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    await assert.rejects(
      waitHealthy({ ...single(s), timeoutMs: 10_000, signal: ac.signal }),
      (e) => e instanceof SwitchyardError && e.code === 'ABORTED',
    );
    assert.ok(Date.now() - t0 < 1500);
  });
});

describe('smoke steps', () => {
  const loginFlow: NonNullable<ConfigInput['checks']>['smoke'] = [
    {
      name: 'request code',
      request: { method: 'POST' as const, path: '/api/auth/request-code', json: { email: 'test@example.com' } },
      expect: { status: 200 },
      capture: { code: '$.devCode' },
    },
    {
      name: 'login',
      request: {
        method: 'POST' as const,
        path: '/api/auth/verify',
        json: { email: 'test@example.com', code: '{{code}}' },
      },
      expect: { status: 200, json: { token: '*' } },
      capture: { token: '$.token', email: '$.user.email' },
    },
    {
      name: 'me',
      request: { path: '/api/me', headers: { Authorization: 'Bearer {{token}}' } },
      expect: { json: { email: '*' } },
    },
    { name: 'frontend', request: { path: '/' }, expect: { contentType: 'text/html', bodyContains: 'id="root"' } },
    {
      name: 'CORS',
      request: { method: 'OPTIONS' as const, path: '/api/health', headers: { Origin: 'https://example.com' } },
      expect: { status: 204, headers: { 'access-control-allow-origin': '*' } },
    },
  ];

  test("the guide's login flow with captures, templates and a CORS check", budget(100), async () => {
    const { api, web, endpoints } = await pair();
    const reported: string[] = [];
    const r = await runSmoke({
      config: checkConfig({ checks: { smoke: loginFlow } }),
      colour: 'green',
      endpoints,
      projectDir: tmp,
      onStep: (s) => reported.push(s.name),
    });
    assert.equal(r.ok, true, JSON.stringify(r.steps));
    assert.deepEqual(
      reported,
      loginFlow.map((s) => s.name),
    );
    assert.ok(api.seen.includes('POST /api/auth/verify'));
    assert.deepEqual(web.seen, ['GET /'], 'routing sends "/" to the web service only');
  });

  test('an expect mismatch names the request, the service and the difference', budget(100), async () => {
    const { endpoints } = await pair();
    const steps = [{ name: 'health', request: { path: '/api/health' }, expect: { json: { status: 'fine' } } }];
    const r = await runSmoke({
      config: checkConfig({ checks: { smoke: steps } }),
      colour: 'green',
      endpoints,
      projectDir: tmp,
    });
    assert.equal(r.ok, false);
    assert.match(r.steps[0]?.detail ?? '', /GET \/api\/health -> api: json\.status: expected "fine", got "ok"/);
  });

  test('a failing step stops the rest, which are reported as not run', budget(100), async () => {
    const { endpoints } = await pair({ devCode: '111111' });
    const login = loginFlow[1] as { name: string; request: { path: string } };
    const steps = [
      loginFlow[0],
      { ...login, request: { ...login.request, json: { email: 'a@b.c', code: 'wrong' } } },
      loginFlow[2],
      loginFlow[3],
    ];
    const r = await runSmoke({
      config: checkConfig({ checks: { smoke: steps as typeof loginFlow } }),
      colour: 'green',
      endpoints,
      projectDir: tmp,
    });
    assert.equal(r.ok, false);
    assert.deepEqual(
      r.steps.map((s) => [s.name, s.ok, s.skipped ?? false]),
      [
        ['request code', true, false],
        ['login', false, false],
        ['me', false, true],
        ['frontend', false, true],
      ],
    );
    assert.match(r.steps[1]?.detail ?? '', /status: expected 200, got 401/);
    assert.match(r.steps[2]?.detail ?? '', /not run/);
  });

  test('an unknown template variable and a missing capture fail with a clear message', budget(100), async () => {
    const { endpoints } = await pair();
    const r1 = await runSmoke({
      config: checkConfig({ checks: { smoke: [{ name: 't', request: { path: '/api/{{nope}}' } }] } }),
      colour: 'green',
      endpoints,
    });
    assert.match(r1.steps[0]?.detail ?? '', /unknown variable \{\{nope\}\} \(captured so far: none\)/);
    const r2 = await runSmoke({
      config: checkConfig({
        checks: { smoke: [{ name: 'c', request: { path: '/api/health' }, capture: { x: '$.data[0].id' } }] },
      }),
      colour: 'green',
      endpoints,
    });
    assert.match(r2.steps[0]?.detail ?? '', /capture x: \$\.data\[0\]\.id not found/);
  });

  test(
    'a run step gets TARGET_URL, COLOUR and SERVICE_<NAME>_URL and runs in the project folder',
    budget(100),
    async () => {
      const { api, web, endpoints } = await pair();
      const script =
        "require('fs').writeFileSync('env.json', JSON.stringify({t: process.env.TARGET_URL, c: process.env.COLOUR, " +
        'a: process.env.SERVICE_API_URL, x: process.env.EXTRA}))';
      const steps = [
        { name: 'custom', run: [process.execPath, '-e', script] },
        { name: 'shell', run: 'echo "$COLOUR" > shell.txt', shell: true },
      ];
      const r = await runSmoke({
        config: checkConfig({ checks: { smoke: steps } }),
        colour: 'blue',
        endpoints,
        projectDir: tmp,
        env: { EXTRA: 'yes' },
      });
      assert.equal(r.ok, true, JSON.stringify(r.steps));
      assert.deepEqual(JSON.parse(readFileSync(path.join(tmp, 'env.json'), 'utf8')), {
        t: web.url,
        c: 'blue',
        a: api.url,
        x: 'yes',
      });
      assert.equal(readFileSync(path.join(tmp, 'shell.txt'), 'utf8').trim(), 'blue');
    },
  );

  test('a failing run step shows the last lines of its output; a missing command is named', budget(100), async () => {
    const { endpoints } = await pair();
    const script = 'for (let i = 1; i <= 30; i++) console.log("line " + i); console.error("boom"); process.exit(3)';
    const r = await runSmoke({
      config: checkConfig({ checks: { smoke: [{ name: 'bad', run: [process.execPath, '-e', script] }] } }),
      colour: 'blue',
      endpoints,
      projectDir: tmp,
    });
    const d = r.steps[0]?.detail ?? '';
    assert.match(d, /exited with code 3/);
    assert.match(d, /line 30/);
    assert.match(d, /boom/);
    assert.doesNotMatch(d, /line 1\n/);
    const r2 = await runSmoke({
      config: checkConfig({ checks: { smoke: [{ name: 'nope', run: 'no-such-command-xyz --flag' }] } }),
      colour: 'blue',
      endpoints,
      projectDir: tmp,
    });
    assert.match(r2.steps[0]?.detail ?? '', /could not run "no-such-command-xyz"/);
  });

  test('a run step that outlives its timeout is killed with its process group', budget(600), async () => {
    const { endpoints } = await pair();
    // The child spawns a grandchild that would keep running; both must be gone after the timeout.
    const pidFile = path.join(tmp, 'grandchild.pid');
    const script =
      "const c = require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], " +
      "{ stdio: 'ignore' }); " +
      `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); ` +
      "console.log('started'); setTimeout(() => {}, 60000)";
    const t0 = Date.now();
    const r = await runSmoke({
      config: checkConfig({
        checks: { smoke: [{ name: 'slow', run: [process.execPath, '-e', script], timeout: '500ms' }] },
      }),
      colour: 'blue',
      endpoints,
      projectDir: tmp,
    });
    assert.ok(Date.now() - t0 < 4000, `took ${Date.now() - t0} ms`);
    assert.equal(r.ok, false);
    assert.match(r.steps[0]?.detail ?? '', /timed out after 500 ms/);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(alive(grandchild), false, `grandchild ${grandchild} still running`);
  });
});
