import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type NginxProxyConfig } from '../../src/config/schema.ts';
import { featuresOf } from '../../src/proxy/features.ts';
import { nginxFiles } from '../../src/proxy/nginx/files.ts';
import { renderNginxConfig, routedServices } from '../../src/proxy/nginx/render.ts';
import { projectPaths } from '../../src/state/paths.ts';

const files = nginxFiles(projectPaths('/srv/app'));

function proxy(extra: Record<string, unknown> = {}): NginxProxyConfig {
  const routes = (extra.routes as { path: string; service: string }[]) ?? [
    { path: '/api', service: 'api' },
    { path: '/', service: 'web' },
  ];
  const c = configSchema.parse({
    app: 'a',
    proxy: { kind: 'nginx', listen: { http: 8080 }, ...extra, routes },
    services: Object.fromEntries(routedServices(routes).map((s) => [s, { command: 'x', health: { path: '/' } }])),
  });
  if (c.proxy.kind !== 'nginx') throw new Error('not nginx');
  return c.proxy;
}

const render = (p: NginxProxyConfig, more: Partial<Parameters<typeof renderNginxConfig>[0]> = {}) =>
  renderNginxConfig({
    proxy: p,
    files,
    services: routedServices(p.routes),
    backends: { blue: { api: [{ host: '127.0.0.1', port: 5001 }], web: [{ host: '127.0.0.1', port: 5002 }] } },
    ...more,
  });

test('a private instance: pid, logs and temp paths under .switchyard/nginx', () => {
  const t = render(proxy());
  assert.match(t, /^daemon on;$/m);
  assert.match(t, /^pid "\/srv\/app\/\.switchyard\/nginx\/nginx\.pid";$/m);
  assert.match(t, /^error_log "\/srv\/app\/\.switchyard\/nginx\/error\.log" warn;$/m);
  for (const d of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
    assert.match(t, new RegExp(`${d}_temp_path "/srv/app/\\.switchyard/nginx/temp/${d}";`));
  assert.match(t, /worker_processes auto;/);
  assert.match(t, /server_tokens off;/);
  assert.doesNotMatch(t, /keepalive_min_timeout/);
  assert.match(render(proxy(), { keepaliveMinTimeout: true }), /keepalive_min_timeout 5s;/);
  assert.match(render(proxy(), { daemon: false }), /^daemon off;$/m);
  assert.match(render(proxy(), { user: 'deploy' }), /^user deploy;$/m);
});

test('two upstreams per service with keep-alive; a colour without backend stays valid', () => {
  const t = render(proxy({ keepalive: 32 }));
  assert.match(t, /upstream sy_api_blue \{\n {4}server 127\.0\.0\.1:5001 max_fails=0;\n {4}keepalive 32;/);
  assert.match(t, /upstream sy_api_green \{\n {4}server 127\.0\.0\.1:1 down;\n {4}keepalive 32;/);
  assert.match(t, /upstream sy_web_green \{/);
  assert.match(t, /proxy_http_version 1\.1;/);
  assert.match(t, /map \$http_upgrade \$connection_upgrade \{\n {4}default upgrade;\n {4}'' '';\n {2}\}/);
  assert.match(t, /proxy_set_header Connection \$connection_upgrade;/);
  assert.match(t, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  assert.match(t, /proxy_set_header X-Forwarded-Proto \$scheme;/);
});

test('the colour is chosen per request from the flag file, and named in a header', () => {
  const t = render(proxy());
  assert.match(
    t,
    new RegExp(
      /set \$sy_colour blue;\n {4}set \$sy_other green;\n/.source +
        / {4}if \(-f "\/srv\/app\/\.switchyard\/nginx\/green\.active"\) \{\n/.source +
        / {6}set \$sy_colour green;\n {6}set \$sy_other blue;\n {4}\}/.source,
    ),
  );
  assert.match(t, /add_header X-Switchyard-Env \$sy_colour always;/);
  assert.match(t, /proxy_pass http:\/\/sy_api_\$sy_colour\$sy_stream_upstream;/);
  assert.match(t, /proxy_hide_header X-Switchyard-Env;/);
});

test('locations keep routing.ts semantics: /api is /api and /api/..., never /apix', () => {
  const t = render(proxy());
  assert.match(t, /location = "\/api" \{\n {6}proxy_pass http:\/\/sy_api_\$sy_colour\$sy_stream_upstream;/);
  assert.match(t, /location "\/api\/" \{\n {6}proxy_pass http:\/\/sy_api_\$sy_colour\$sy_stream_upstream;/);
  assert.match(t, /location "\/" \{\n {6}proxy_pass http:\/\/sy_web_\$sy_colour\$sy_stream_upstream;/);
  assert.doesNotMatch(t, /location "\/api" /);
});

test('a route ending in "/" gets an exact location for its bare path (no nginx 301), routed as routing.ts does', () => {
  const t = render(
    proxy({
      routes: [
        { path: '/docs/', service: 'api' },
        { path: '/', service: 'web' },
      ],
    }),
  );
  assert.match(t, /location "\/docs\/" \{\n {6}proxy_pass http:\/\/sy_api_/);
  assert.match(t, /location = "\/docs" \{\n {6}proxy_pass http:\/\/sy_web_/);
});

test('no "/" route: anything else is a 404 from nginx', () => {
  const t = render(proxy({ routes: [{ path: '/api', service: 'api' }] }));
  assert.match(t, /location "\/" \{\n {6}return 404 /);
});

test('both /api and /api/ routes do not render a duplicate location', () => {
  const t = render(
    proxy({
      routes: [
        { path: '/api', service: 'api' },
        { path: '/api/', service: 'web' },
      ],
    }),
  );
  assert.equal(t.match(/location "\/api\/"/g)?.length, 1);
  assert.equal(t.match(/location = "\/api"/g)?.length, 1);
  assert.match(t, /location "\/api\/" \{\n {6}proxy_pass http:\/\/sy_web_/);
});

test('TLS: https server with cert, key and modern protocols; http answers 301 to https', () => {
  const p = proxy({ listen: { http: 8080, https: 8443 }, tls: { cert: 'c.pem', key: 'k.pem' } });
  const t = render(p, { tls: { cert: '/srv/app/c.pem', key: '/srv/app/k.pem' } });
  assert.match(t, /listen 127\.0\.0\.1:8080;\n {4}return 301 https:\/\/\$host:8443\$request_uri;/);
  assert.match(t, /listen 127\.0\.0\.1:8443 ssl;/);
  assert.match(t, /ssl_certificate "\/srv\/app\/c\.pem";/);
  assert.match(t, /ssl_certificate_key "\/srv\/app\/k\.pem";/);
  assert.match(t, /ssl_protocols TLSv1\.2 TLSv1\.3;/);
  // Mozilla intermediate, guidelines 6.0: ECDHE + AEAD only (no DHE, no CBC), client's choice, no tickets.
  assert.match(
    t,
    new RegExp(
      'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:' +
        'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:' +
        'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;',
    ),
  );
  assert.match(t, /ssl_ecdh_curve X25519:prime256v1:secp384r1;/);
  assert.match(t, /ssl_prefer_server_ciphers off;/);
  assert.match(t, /ssl_session_tickets off;/);
  assert.match(t, /ssl_session_cache shared:\w+:10m;/);
  assert.match(t, /ssl_session_timeout 1d;/);
  assert.doesNotMatch(t, /TLSv1 |TLSv1\.1|SSLv3|[: ]DHE-|CBC|RC4|3DES/);
  assert.equal(t.match(/add_header X-Switchyard-Env/g)?.length, 1, 'only the https server proxies');
  assert.equal(t.match(/access_log "/g)?.length, 1, 'and only it logs');
});

test('the same inputs render byte-identical text (no reload when nothing changed)', () => {
  assert.equal(render(proxy()), render(proxy()));
  assert.notEqual(
    render(proxy()),
    render(proxy(), { backends: { blue: { api: [{ host: '127.0.0.1', port: 5009 }] } } }),
  );
});

test('schema: nginx defaults, https needs tls, container mode takes an image', () => {
  const p = proxy();
  assert.equal(p.mode, 'host');
  assert.equal(p.binary, 'nginx');
  assert.equal(p.keepalive, 64);
  assert.equal(p.clientMaxBodySize, '10m');
  const bad = configSchema.safeParse({
    app: 'a',
    proxy: { kind: 'nginx', mode: 'container', listen: { http: 1, https: 2 }, routes: [{ path: '/', service: 's' }] },
    services: { s: { command: 'x', health: { path: '/' } } },
  });
  assert.equal(bad.success, false);
  const msgs = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.ok(
    !msgs.some((m) => m.startsWith('proxy.mode')),
    `mode: container is valid in the schema (a rule ties it to runtime: docker): ${msgs.join('\n')}`,
  );
  assert.ok(
    msgs.some((m) => /^proxy\.tls: required when listen\.https/.test(m)),
    msgs.join('\n'),
  );
  assert.equal(proxy({ mode: 'container' }).image, 'nginx:stable');
  const builtin = configSchema.parse({
    app: 'a',
    proxy: { listen: { http: 1 }, routes: [{ path: '/', service: 's' }] },
    services: { s: { command: 'x', health: { path: '/' } } },
  });
  assert.equal(builtin.proxy.kind, 'builtin');
});

test(
  'proxy timeouts: http-level lines from connectTimeout / readTimeout / sendTimeout, ' + 'whole seconds rounded up',
  () => {
    const defaults = render(proxy());
    assert.match(defaults, /^ {2}proxy_connect_timeout 5s;$/m);
    assert.match(defaults, /^ {2}proxy_read_timeout 60s;$/m);
    assert.match(defaults, /^ {2}proxy_send_timeout 60s;$/m);
    for (const d of ['proxy_connect_timeout', 'proxy_read_timeout', 'proxy_send_timeout']) {
      assert.equal(defaults.match(new RegExp(`\\b${d}\\b`, 'g'))?.length, 1, `${d} is set once, for every location`);
    }
    const t = render(proxy({ connectTimeout: '2500ms', readTimeout: '2m', sendTimeout: '200ms' }));
    assert.match(t, /^ {2}proxy_connect_timeout 3s;$/m, '2.5 s rounds up, never down to a shorter wait');
    assert.match(t, /^ {2}proxy_read_timeout 120s;$/m);
    assert.match(t, /^ {2}proxy_send_timeout 1s;$/m, 'below a second is 1s, never 0s');
    // Inside http { }, before the first upstream and server.
    const http = t.indexOf('\nhttp {\n');
    const firstUpstream = t.indexOf('  upstream ');
    for (const d of ['proxy_connect_timeout', 'proxy_read_timeout', 'proxy_send_timeout']) {
      const at = t.indexOf(`  ${d} `);
      assert.ok(http >= 0 && at > http && at < firstUpstream, `${d} is an http-level default`);
    }
  },
);

test('server_tokens off, and a keep-alive pool on every upstream of both colours', () => {
  const t = render(proxy({ keepalive: 48, upstreamKeepaliveTimeout: '3500ms' }));
  assert.match(t, /^ {2}server_tokens off;$/m);
  assert.ok(t.indexOf('  server_tokens off;') > t.indexOf('\nhttp {\n'), 'in the http block: every server');
  const blocks = [...t.matchAll(/^ {2}upstream (sy_\w+) \{\n([\s\S]*?)^ {2}\}$/gm)].map((m) => ({
    name: m[1]!,
    body: m[2]!,
  }));
  const pooled = blocks.filter((b) => !b.name.endsWith('_stream'));
  assert.deepEqual(pooled.map((b) => b.name).sort(), ['sy_api_blue', 'sy_api_green', 'sy_web_blue', 'sy_web_green']);
  // Each has a twin for streams without a pool (drain-count.ts: a stream's connection is never reused).
  for (const b of pooled) {
    const twin = blocks.find((x) => x.name === `${b.name}_stream`);
    assert.ok(twin, `${b.name}: no stream upstream`);
    assert.doesNotMatch(twin.body, /keepalive/, `${twin.name}: no pool`);
    assert.equal(twin.body.replace(/^ {4}keepalive.*\n/gm, ''), b.body.replace(/^ {4}keepalive.*\n/gm, ''));
  }
  for (const b of pooled) {
    assert.match(b.body, /^ {4}keepalive 48;$/m, `${b.name}: the pool size from proxy.keepalive`);
    assert.match(b.body, /^ {4}keepalive_timeout 4s;$/m, `${b.name}: upstreamKeepaliveTimeout rounded up`);
    assert.match(b.body, /^ {4}keepalive_requests 100000;$/m, b.name);
  }
  // A pool is only used with HTTP/1.1 upstream requests and no "Connection: close" from nginx.
  assert.match(t, /^ {2}proxy_http_version 1\.1;$/m);
  assert.match(t, /^ {2}proxy_set_header Connection \$connection_upgrade;$/m);
  assert.match(render(proxy()), /^ {4}keepalive 64;$/m, 'default pool: 64');
  assert.match(render(proxy()), /^ {4}keepalive_timeout 4s;$/m, "default upstream keep-alive: 4 s, below Node's 5 s");
});

test('swarm edge: tasks resolved by nginx per request, one map per service, no upstream pool', () => {
  const resolve = {
    resolver: '127.0.0.11',
    targets: {
      api: { blue: 'tasks.a_api_blue:5000', green: 'tasks.a_api_green:5000' },
      web: { blue: 'tasks.a_web_blue:3000', green: 'tasks.a_web_green:3000' },
    },
  };
  const t = render(proxy(), { resolve, backends: {} });
  assert.match(t, /^ {2}resolver 127\.0\.0\.11 valid=1s ipv6=off;$/m);
  assert.match(t, /^ {2}resolver_timeout 2s;$/m);
  const map = [
    '  map $sy_colour $sy_up_0 {',
    '    default tasks.a_api_blue:5000;',
    '    blue tasks.a_api_blue:5000;',
    '    green tasks.a_api_green:5000;',
    '  }',
  ].join('\n');
  assert.ok(t.includes(map), t);
  assert.match(t, /map \$sy_colour \$sy_up_1 \{\n {4}default tasks\.a_web_blue:3000;/);
  assert.doesNotMatch(t, /upstream sy_/);
  assert.match(t, /location "\/api\/" \{\n {6}proxy_pass http:\/\/\$sy_up_0;/);
  assert.match(t, /location "\/" \{\n {6}proxy_pass http:\/\/\$sy_up_1;/);
  // The names do not depend on which colour has backends: a deploy renders the same text.
  const deployed = render(proxy(), {
    resolve,
    backends: { green: { api: [{ host: 'tasks.a_api_green', port: 5000 }] } },
  });
  assert.equal(deployed, t);
});

test('swarm edge: a target that is not name:port, or a resolver that is not an address, is refused', () => {
  const targets = { api: { blue: 'x:1', green: 'y:2' }, web: { blue: 'z:3', green: 'w:4' } };
  assert.throws(
    () => render(proxy(), { resolve: { resolver: 'dns;evil', targets } }),
    /resolver must be an IPv4 address/,
  );
  assert.throws(
    () =>
      render(proxy(), {
        resolve: { resolver: '127.0.0.11', targets: { ...targets, api: { blue: 'x:1; return 200', green: 'y:2' } } },
      }),
    /not a name:port for api blue/,
  );
  assert.throws(() => render(proxy(), { resolve: { resolver: '127.0.0.11', targets: { api: targets.api } } }), {
    message: 'no resolved target for service web',
  });
});

test('proxy.metrics: a server of its own with stub_status at /stub_status only, not logged, nothing proxied', () => {
  assert.doesNotMatch(render(proxy()), /stub_status/, 'nothing without proxy.metrics');
  const t = render(proxy({ metrics: { listen: { port: 9464 } } }));
  const server = [
    "  # proxy.metrics: nginx's stub_status for nginx-prometheus-exporter (the whole server, all colours together).",
    '  server {',
    '    listen 127.0.0.1:9464;',
    '    access_log off;',
    '    location = /stub_status {',
    '      stub_status;',
    '    }',
    '    location / {',
    '      return 404;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
  assert.ok(t.endsWith(server), `the last server of http { }:\n${t.slice(-600)}`);
  assert.equal(t.match(/stub_status;/g)?.length, 1);
  // The public server is unchanged: the metrics server adds text, it changes none.
  assert.equal(t.replace(server, '}\n'), render(proxy()));
  // Another address (IPv6 in brackets), and the preview listener alongside.
  const both = proxy({ listen: { http: 8080, preview: 8081 }, metrics: { listen: { host: '::1', port: 9100 } } });
  const v6 = render(both, { features: featuresOf(both) });
  assert.match(v6, /^ {4}listen \[::1\]:9100;\n {4}access_log off;\n {4}location = \/stub_status \{$/m);
  assert.match(v6, /^ {4}listen 127\.0\.0\.1:8081;$/m);
  // The schema takes any string as a host: one that would break out of `listen` is refused here.
  assert.throws(() => render(proxy({ metrics: { listen: { host: '127.0.0.1:1; stub_status', port: 9464 } } })), {
    code: 'PROXY_FAILED',
    message: /proxy\.metrics\.listen\.host .*expected an IP address or a host name/,
  });
});

test('streams: SSE and WebSocket requests go to the stream upstream from source addresses of their own', () => {
  const t = render(proxy());
  assert.match(t, /map \$http_accept \$sy_sse \{\n {4}default 0;\n {4}~\*text\/event-stream 1;\n {2}\}/);
  assert.match(t, /map \$http_upgrade\$sy_sse \$sy_stream \{\n {4}default websocket;\n {4}0 '';\n {4}1 sse;\n {2}\}/);
  assert.match(t, /map \$sy_stream \$sy_stream_upstream \{\n {4}default _stream;\n {4}'' '';\n {2}\}/);
  assert.match(
    t,
    /map \$sy_stream \$sy_stream_bind \{\n {4}default '';\n {4}sse 127\.0\.0\.2;\n {4}websocket 127\.0\.0\.3;/,
  );
  assert.match(
    t,
    new RegExp(
      /location "\/api\/" \{\n {6}proxy_pass http:\/\/sy_api_\$sy_colour\$sy_stream_upstream;\n/.source +
        / {6}proxy_bind \$sy_stream_bind;/.source,
    ),
  );
  // A backend off loopback cannot be reached from 127.0.0.2: no source address then (the drain waits for streams).
  const off = render(proxy(), { backends: { blue: { api: [{ host: '10.0.0.5', port: 5001 }] } } });
  assert.doesNotMatch(off, /proxy_bind/);
  assert.doesNotMatch(off, /\$sy_stream_bind/);
  assert.match(off, /\$sy_stream_upstream;/);
});
