/**
 * `nginx -t` (the real nginx) on every shape of rendered config the features can give: preview
 * listener or not, TLS or not, allowlist or not, sticky cookie or address, header and/or cookie
 * preview, the stub_status server of proxy.metrics or not, with awkward values ("$" in names and
 * tokens, IPv6). No warnings either.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { featuresOf } from '../../src/proxy/features.js';
import { ensureDirs, nginxFiles, swapConfig, type NginxFiles } from '../../src/proxy/nginx/files.js';
import { renderNginxConfig } from '../../src/proxy/nginx/render.js';
import { projectPaths } from '../../src/state/paths.js';
import { budget } from '../helpers/budget.js';

function nginxT(f: NginxFiles): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) =>
    execFile('nginx', ['-t', '-e', 'stderr', '-p', `${f.dir}/`, '-c', f.conf], { timeout: 15_000 }, (e, out, err) =>
      resolve({ ok: !e, output: `${err}${out}` }),
    ),
  );
}

describe('nginx -t accepts every rendered combination', () => {
  let root: string;
  let f: NginxFiles;
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-nginx-t-'));
    f = nginxFiles(projectPaths(root));
    await ensureDirs(f);
    await fs.mkdir(path.join(root, 'tls'));
    await new Promise<void>((resolve, reject) =>
      execFile(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-keyout',
          path.join(root, 'tls/key.pem'),
          '-out',
          path.join(root, 'tls/cert.pem'),
        ],
        { timeout: 30_000 },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
  }, budget(200));
  after(async () => fs.rm(root, { recursive: true, force: true }), budget(100));

  it('64 combinations', budget(1_700), async (t) => {
    const matches = [{}, { header: 'X-Preview' }, { cookie: 'pv$1' }, { header: 'X-Sy-Preview', cookie: 'sy_preview' }];
    let n = 0;
    for (const preview of [false, true])
      for (const tls of [false, true])
        for (const allow of [[], ['127.0.0.1', '10.1.0.0/16', '::1', 'fd00::/8', '::ffff:192.168.0.0/112']])
          for (const sticky of ['cookie', 'address'])
            for (const match of matches) {
              const proxy = {
                kind: 'nginx',
                listen: { http: 18080, ...(tls ? { https: 18443 } : {}), ...(preview ? { preview: 18081 } : {}) },
                ...(tls ? { tls: { cert: 'tls/cert.pem', key: 'tls/key.pem' } } : {}),
                routes: [
                  { path: '/api', service: 'api' },
                  { path: '/', service: 'web' },
                ],
                preview: { ...match, token: 'to$ken{1}' },
                sticky,
                stickyCookie: 'c$k',
                maintenance: { allow, retryAfter: '45s' },
                // The stub_status server (proxy.metrics), on IPv6 loopback with the preview listener.
                ...(preview ? { metrics: { listen: { host: '::1', port: 18082 } } } : {}),
              };
              const c = configSchema.parse({
                app: 'a',
                proxy,
                services: {
                  api: { command: 'x', health: { path: '/' } },
                  web: { command: 'x', health: { path: '/' } },
                },
              });
              if (c.proxy.kind !== 'nginx') throw new Error('not nginx');
              const text = renderNginxConfig({
                proxy: c.proxy,
                files: f,
                services: ['api', 'web'],
                backends: { blue: { api: [{ host: '127.0.0.1', port: 5001 }], web: [{ host: '::1', port: 5002 }] } },
                ...(tls ? { tls: { cert: path.join(root, 'tls/cert.pem'), key: path.join(root, 'tls/key.pem') } } : {}),
                ...(process.geteuid?.() === 0 ? { user: 'root' } : {}),
                features: featuresOf(c.proxy),
              });
              await swapConfig(f, text);
              const r = await nginxT(f);
              const label = JSON.stringify({ preview, tls, allow: allow.length, sticky, match });
              assert.ok(r.ok, `${label}\n${r.output}`);
              assert.doesNotMatch(r.output, /\[warn\]|\[emerg\]/, `${label}\n${r.output}`);
              n++;
            }
    t.diagnostic(`${n} configurations passed nginx -t without a warning`);
    assert.equal(n, 64);
  });
});
