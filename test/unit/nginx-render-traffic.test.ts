/** The nginx.conf parts for canary, preview, maintenance and counting (render-traffic.ts), without nginx. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, type NginxProxyConfig } from '../../src/config/schema.ts';
import { featuresOf, NO_FEATURES, type ProxyFeatures } from '../../src/proxy/features.ts';
import { geoNetwork } from '../../src/proxy/nginx/allowlist.ts';
import { nginxFiles } from '../../src/proxy/nginx/files.ts';
import { renderNginxConfig } from '../../src/proxy/nginx/render.ts';
import { checkFeatures } from '../../src/proxy/nginx/render-traffic.ts';
import { nginxPreviewFits } from '../../src/config/nginx-rules.ts';
import { checkConfigPath, qv } from '../../src/proxy/nginx/syntax.ts';
import { projectPaths } from '../../src/state/paths.ts';

const files = nginxFiles(projectPaths('/srv/app'));

function proxy(extra: Record<string, unknown> = {}): NginxProxyConfig {
  const c = configSchema.parse({
    app: 'a',
    proxy: { kind: 'nginx', listen: { http: 8080 }, routes: [{ path: '/', service: 'web' }], ...extra },
    services: { web: { command: 'x', health: { path: '/' } } },
  });
  if (c.proxy.kind !== 'nginx') throw new Error('not nginx');
  return c.proxy;
}

const render = (p: NginxProxyConfig, features: ProxyFeatures = featuresOf(p)) =>
  renderNginxConfig({ proxy: p, files, services: ['web'], backends: {}, features });

test('every request: active colour, canary bucket file, watch and maintenance flags, in that order', () => {
  const t = render(proxy());
  const order = [
    'if (-f "/srv/app/.switchyard/nginx/green.active")',
    'if (-f "/srv/app/.switchyard/nginx/split/$sy_other/$sy_bucket") {\n      set $sy_colour $sy_other;',
    'if (-d "/srv/app/.switchyard/nginx/split/$sy_other") {\n      set $sy_cookie $sy_new_cookie;',
    'if (-f "/srv/app/.switchyard/nginx/watch.on") {\n      set $sy_watch 1;',
    'if (-f "/srv/app/.switchyard/nginx/maintenance.on") {\n      set $sy_maint $sy_maint_block;',
    'if ($status = 503) {\n      set $sy_maint "";',
    'if ($sy_maint) {\n      return 503;',
    'error_page 503 /.switchyard/maintenance;',
    'access_log "/srv/app/.switchyard/nginx/access.json" sy_json if=$sy_watch;',
    'add_header X-Switchyard-Env $sy_colour always;',
    'add_header Set-Cookie $sy_cookie always;',
    'location = /.switchyard/maintenance {\n      internal;\n      access_log off;\n' +
      '      alias "/srv/app/.switchyard/nginx/maintenance.html";',
    'location "/" {',
  ];
  let at = 0;
  for (const o of order) {
    const i = t.indexOf(o, at);
    assert.ok(i > at, `missing or out of order: ${o}`);
    at = i;
  }
  assert.match(
    t,
    new RegExp(
      /log_format sy_json escape=json '\{"t":"\$msec","c":"\$sy_colour",/.source +
        /"s":"\$status","rt":"\$request_time","us":"\$upstream_status"/.source,
    ),
  );
  assert.match(t, /add_header Retry-After 60 always;\n {6}add_header Cache-Control no-store always;/);
  assert.match(t, /default_type text\/html;\n {6}charset utf-8;/);
  assert.equal(t.match(/^\s+1% \d+;$/gm)?.length, 99, '100 buckets of 1%');
  assert.match(t, / {4}1% 0;\n {4}1% 1;/);
  assert.match(t, / {4}1% 98;\n {4}\* 99;\n {2}\}/);
  assert.doesNotMatch(t, /listen .*;\n {4}set \$sy_colour green;/, 'no preview server');
  assert.doesNotMatch(t, /sy_preview/);
});

test('sticky cookie: the key is the cookie or the request id, and a cookie-less client is given one', () => {
  const t = render(proxy());
  assert.match(
    t,
    new RegExp(
      /map \$http_cookie \$sy_key \{\n {4}default \$request_id;\n/.source +
        / {4}"~\(\?:\^\|;\)\\\\s\*\\\\Qsy_canary\\\\E=/.source +
        /\(\?<sy_sticky>\[\^;\]\+\)" \$sy_sticky;\n {2}\}/.source,
    ),
  );
  assert.match(
    t,
    new RegExp(
      /default "sy_canary=\$request_id; Path=\/; HttpOnly; SameSite=Lax";\n/.source +
        / {4}"~\(\?:\^\|;\)\\\\s\*\\\\Qsy_canary\\\\E=\[\^;\]" "";/.source,
    ),
  );
  assert.match(t, /split_clients "\$\{sy_key\}" \$sy_bucket \{/);
});

test('sticky address: the bucket hashes $remote_addr; no cookie anywhere', () => {
  const t = render(proxy({ sticky: 'address' }));
  assert.match(t, /split_clients "\$\{remote_addr\}" \$sy_bucket \{/);
  assert.doesNotMatch(t, /sy_key|Set-Cookie|sy_cookie|-d "/);
});

test('preview: an inverted server on its own port, and header/cookie matchers that are exact regexes', () => {
  const p = proxy({
    listen: { http: 8080, preview: 8081 },
    preview: { host: '::1', header: 'X-Sy-Preview', cookie: 'pv', token: 'a$b.c' },
  });
  const t = render(p);
  assert.match(
    t,
    new RegExp(
      /server \{\n {4}listen \[::1\]:8081;\n {4}set \$sy_colour green;\n/.source +
        / {4}if \(-f "\/srv\/app\/\.switchyard\/nginx\/green\.active"\) \{\n/.source +
        / {6}set \$sy_colour blue;\n {4}\}\n/.source +
        / {4}add_header X-Switchyard-Env \$sy_colour always;\n {4}location "\/" \{/.source,
    ),
  );
  assert.match(
    t,
    /map \$http_x_sy_preview \$sy_preview_header \{\n {4}default "";\n {4}"~\^\\\\Qa\$b\.c\\\\E\$" 1;\n {2}\}/,
  );
  assert.match(
    t,
    new RegExp(
      /map \$http_cookie \$sy_preview_cookie \{\n {4}default "";\n/.source +
        / {4}"~\(\?:\^\|;\)\\\\s\*\\\\Qpv\\\\E=\\\\Qa\$b\.c\\\\E\\\\s\*\(\?:;\|\$\)" 1;/.source,
    ),
  );
  assert.match(
    t,
    /if \(\$sy_preview_header\) \{\n {6}set \$sy_colour \$sy_other;\n {4}\}\n {4}if \(\$sy_preview_cookie\) \{/,
  );
  const preview = t.slice(t.lastIndexOf('  server {'));
  assert.doesNotMatch(
    preview,
    /access_log|maintenance|sy_bucket/,
    'the preview server is not counted, split or put in maintenance',
  );
});

test('a "$" in the sticky cookie name or state path is never read as a variable', () => {
  const t = render(proxy({ stickyCookie: 'a$b' }));
  assert.match(t, /default "a\$\{sy_dollar\}b=\$request_id; Path=\/;/);
  assert.match(t, /geo \$sy_dollar \{\n {4}default "\$";\n {2}\}/);
  assert.equal(qv('x$y"z'), '"x${sy_dollar}y\\"z"');
  assert.throws(() => checkConfigPath('/srv/a$b'), { code: 'PROXY_FAILED' });
  assert.throws(
    () =>
      renderNginxConfig({
        proxy: proxy(),
        files: nginxFiles(projectPaths('/srv/a$b')),
        services: ['web'],
        backends: {},
      }),
    /contains "\$"/,
  );
});

test(
  'maintenance allowlist: networks with host bits cleared, IPv4-mapped blocks as IPv4; ' +
    'Retry-After from the config',
  () => {
    const t = render(
      proxy({
        maintenance: {
          allow: ['10.1.2.3/8', '192.168.1.7', '2001:db8::1/32', '::ffff:10.0.0.0/104'],
          retryAfter: '90s',
        },
      }),
    );
    assert.match(
      t,
      new RegExp(
        /geo \$sy_maint_block \{\n {4}default 1;\n {4}10\.0\.0\.0\/8 0;\n {4}192\.168\.1\.7\/32 0;\n/.source +
          / {4}2001:db8:0:0:0:0:0:0\/32 0;\n {4}10\.0\.0\.0\/8 0;\n {2}\}/.source,
      ),
    );
    assert.match(t, /add_header Retry-After 90 always;/);
    assert.equal(geoNetwork('::1'), '0:0:0:0:0:0:0:1/128');
    assert.equal(geoNetwork('fe80::1:2:3:4/64'), 'fe80:0:0:0:0:0:0:0/64');
    assert.equal(geoNetwork('0.0.0.0/0'), '0.0.0.0/0');
    assert.throws(() => geoNetwork('10.0.0.0/33'), { code: 'PROXY_FAILED' });
    assert.throws(() => geoNetwork('nope'), { code: 'PROXY_FAILED' });
  },
);

test('everything rendered is checked: header names nginx can match, tokens, hosts, cookie names', () => {
  const ok: ProxyFeatures = { ...NO_FEATURES, previewMatch: { header: 'X-Preview', token: 't' } };
  assert.equal(checkFeatures(ok), ok);
  const bad: ProxyFeatures[] = [
    { ...NO_FEATURES, previewMatch: { header: 'X_Preview', token: 't' } },
    { ...NO_FEATURES, previewMatch: { header: 'X!Preview', token: 't' } },
    { ...NO_FEATURES, previewMatch: { header: 'X-Preview', token: 'a"b' } },
    { ...NO_FEATURES, previewMatch: { header: 'X-Preview', token: 'a\\Eb' } },
    { ...NO_FEATURES, previewMatch: { header: 'X-Preview', token: 'a b' } },
    { ...NO_FEATURES, previewMatch: { cookie: 'a;b', token: 't' } },
    { ...NO_FEATURES, previewMatch: { token: 't' } },
    { ...NO_FEATURES, preview: { host: '127.0.0.1; evil', port: 1 } },
    { ...NO_FEATURES, preview: { host: '127.0.0.1', port: 0 } },
    { ...NO_FEATURES, stickyCookie: 'a b' },
    { ...NO_FEATURES, retryAfterS: 0 },
    { ...NO_FEATURES, maintenanceAllow: ['10.0.0.0/8; deny all'] },
  ];
  for (const f of bad) assert.throws(() => checkFeatures(f), { code: 'PROXY_FAILED' }, JSON.stringify(f));
  const p = proxy({ preview: { header: 'X_Preview' } });
  assert.throws(
    () => render(p),
    (e: { code: string; hint: string }) => e.code === 'PROXY_FAILED' && /letters, digits and "-"/.test(e.hint),
  );
});

test('the default features render the same text as none given', () => {
  assert.equal(
    renderNginxConfig({ proxy: proxy(), files, services: ['web'], backends: {} }),
    render(proxy(), NO_FEATURES),
  );
});

test('config rule: a preview header or host nginx cannot use is a config error', () => {
  const cfg = (preview: Record<string, unknown>, kind = 'nginx') =>
    configSchema.parse({
      app: 'a',
      proxy: { kind, listen: { http: 8080 }, routes: [{ path: '/', service: 'web' }], preview },
      services: { web: { command: 'x', health: { path: '/' } } },
    });
  assert.deepEqual(nginxPreviewFits(cfg({ header: 'X-Preview', host: '::1' })), []);
  assert.deepEqual(
    nginxPreviewFits(cfg({ header: 'X_Preview' }, 'builtin')),
    [],
    'the built-in proxy takes any header',
  );
  const probs = nginxPreviewFits(cfg({ header: 'X_Preview', host: 'bad host' }));
  assert.deepEqual(
    probs.map((p) => p.path),
    ['proxy.preview.header', 'proxy.preview.host'],
  );
});
