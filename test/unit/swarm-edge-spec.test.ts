/**
 * The edge proxy's service spec (src/runtime/swarm/edge-spec.ts): global, host-mode ports (never
 * the routing mesh), the control port not published, the token as a secret file, state in a volume
 * per node, the epoch and the overlay subnet in its environment, pinned image only.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { edgeSettings } from '../../src/proxy/edge-settings.js';
import { EDGE_KIND_LABEL, edgeServiceSpec, type EdgeServiceInput } from '../../src/runtime/swarm/edge-spec.js';
import type { NginxProxyConfig } from '../../src/config/schema.js';

const input: EdgeServiceInput = {
  app: 'shop',
  image: `10.77.0.1:5000/shop-switchyard@sha256:${'a'.repeat(64)}`,
  network: 'shop-net',
  subnet: '10.0.5.0/24',
  controlPort: 9901,
  init: { listen: { host: '0.0.0.0', port: 8080 }, routes: [{ path: '/', service: 'api' }] },
  ports: [8080, 8081],
  secretId: 'sec123',
  constraints: ['node.labels.edge==true'],
  epoch: 'abc123',
};

describe('edge service spec', () => {
  it('is a global service publishing host-mode ports only', () => {
    const s = edgeServiceSpec(input);
    assert.equal(s.Name, 'shop_edge');
    assert.deepEqual(s.Mode, { Global: {} });
    assert.deepEqual(s.EndpointSpec, {
      Mode: 'dnsrr',
      Ports: [
        { Protocol: 'tcp', TargetPort: 8080, PublishedPort: 8080, PublishMode: 'host' },
        { Protocol: 'tcp', TargetPort: 8081, PublishedPort: 8081, PublishMode: 'host' },
      ],
    });
    assert.deepEqual(s.TaskTemplate?.Placement, { Constraints: ['node.labels.edge==true'] });
    assert.deepEqual(s.UpdateConfig?.Order, 'stop-first');
  });

  it('gives each replica its settings, token file and state volume', () => {
    const c = (edgeServiceSpec(input).TaskTemplate as { ContainerSpec?: unknown }).ContainerSpec as {
      Args: string[];
      Env: string[];
      Mounts: { Source: string; Target: string }[];
      Secrets: { SecretID: string; File: { Name: string; Mode: number } }[];
    };
    assert.deepEqual(c.Args, ['edge-proxy']);
    const env = Object.fromEntries(c.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    assert.equal(env.SWITCHYARD_EDGE_CONTROL_NET, '10.0.5.0/24');
    assert.equal(env.SWITCHYARD_EDGE_CONTROL_PORT, '9901');
    assert.equal(env.SWITCHYARD_EDGE_EPOCH, 'abc123');
    assert.equal(env.SWITCHYARD_EDGE_TOKEN_FILE, '/run/secrets/switchyard_edge_token');
    assert.deepEqual(JSON.parse(env.SWITCHYARD_EDGE_INIT!).listen, { host: '0.0.0.0', port: 8080 });
    assert.ok(!Object.values(env).some((v) => v.includes('sec123')), 'no secret in the environment');
    assert.deepEqual(
      c.Mounts.map((m) => [m.Source, m.Target]),
      [['shop_edge_state', '/state']],
    );
    assert.deepEqual(
      c.Secrets.map((x) => [x.SecretID, x.File.Name, x.File.Mode]),
      [['sec123', 'switchyard_edge_token', 0o400]],
    );
  });

  it('refuses an image that is not pinned by digest', () => {
    assert.throws(() => edgeServiceSpec({ ...input, image: 'shop-switchyard:latest' }), /pinned by digest/);
  });

  it('with proxy.kind nginx: the kind in a label and the environment, the nginx settings beside', async () => {
    const nginx = {
      proxy: { kind: 'nginx', listen: { http: 8080, host: '0.0.0.0' }, routes: input.init.routes } as NginxProxyConfig,
      resolve: { resolver: '127.0.0.11', targets: { api: { blue: 'tasks.shop_api_blue:80', green: 'x:80' } } },
    };
    const spec = edgeServiceSpec({ ...input, nginx });
    assert.equal(spec.Labels?.[EDGE_KIND_LABEL], 'nginx');
    // A connection per request to the tasks: TIME_WAIT ports reused, so the replica never runs out.
    const sysctls = (s: typeof spec) =>
      (s.TaskTemplate as { ContainerSpec?: { Sysctls?: unknown } }).ContainerSpec?.Sysctls;
    assert.deepEqual(sysctls(spec), { 'net.ipv4.tcp_tw_reuse': '1', 'net.ipv4.ip_local_port_range': '1024 65000' });
    assert.equal(sysctls(edgeServiceSpec(input)), undefined);
    assert.equal(edgeServiceSpec(input).Labels?.[EDGE_KIND_LABEL], 'builtin');
    const c = (spec.TaskTemplate as { ContainerSpec?: { Env: string[] } }).ContainerSpec!;
    const env = Object.fromEntries(c.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    // What the replica reads back (proxy/edge-settings.ts) is what the spec gave.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-edge-spec-'));
    try {
      await fs.writeFile(path.join(dir, 'token'), 'a'.repeat(32));
      const s = await edgeSettings({ ...env, SWITCHYARD_EDGE_TOKEN_FILE: path.join(dir, 'token') });
      assert.equal(s.kind, 'nginx');
      assert.deepEqual(s.nginx, nginx);
      assert.equal(s.epoch, 'abc123');
      const builtin = await edgeSettings({
        ...env,
        SWITCHYARD_EDGE_KIND: 'builtin',
        SWITCHYARD_EDGE_TOKEN_FILE: path.join(dir, 'token'),
      });
      assert.equal(builtin.nginx, undefined);
      await assert.rejects(
        edgeSettings({ ...env, SWITCHYARD_EDGE_NGINX: '{}', SWITCHYARD_EDGE_TOKEN_FILE: path.join(dir, 'token') }),
        /SWITCHYARD_EDGE_NGINX has no nginx proxy config/,
      );
      await assert.rejects(
        edgeSettings({ ...env, SWITCHYARD_EDGE_KIND: 'haproxy', SWITCHYARD_EDGE_TOKEN_FILE: path.join(dir, 'token') }),
        /SWITCHYARD_EDGE_KIND is neither builtin nor nginx: haproxy/,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
