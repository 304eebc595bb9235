/**
 * Maintenance mode of the built-in proxy: who may still pass (the allowlist) and the 503 everyone
 * else gets, for plain requests and for WebSocket upgrades. Only consulted while maintenance is on.
 */
import type { ServerResponse } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { parseIpOrCidr } from '../../config/traffic-schema.js';
import { maintenancePage } from '../maintenance-page.js';

/** The allowlist as a BlockList (IPs and CIDR blocks); IPv4-mapped IPv6 clients match their IPv4 rule. */
export class Allowlist {
  private readonly list = new net.BlockList();
  private readonly empty: boolean;

  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const e of entries) {
      const p = parseIpOrCidr(e);
      if (p === undefined) continue;
      this.list.addSubnet(p.address, p.prefix, p.family);
    }
  }

  allows(address: string | undefined): boolean {
    if (this.empty || address === undefined) return false;
    const family = net.isIP(address);
    if (family === 4) return this.list.check(address, 'ipv4');
    if (family !== 6) return false;
    if (this.list.check(address, 'ipv6')) return true;
    const lower = address.toLowerCase();
    if (lower.startsWith('::ffff:')) {
      const v4 = lower.slice(7);
      if (net.isIPv4(v4)) return this.list.check(v4, 'ipv4');
    }
    return false;
  }
}

/** What the proxy answers while maintenance is on, rendered once per change. */
export class MaintenanceReply {
  private readonly body: Buffer;

  constructor(
    message: string,
    private readonly retryAfterS: number,
  ) {
    this.body = Buffer.from(maintenancePage(message), 'utf8');
  }

  send(res: ServerResponse): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(503, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': this.body.length,
      'cache-control': 'no-store',
      'retry-after': String(this.retryAfterS),
    });
    res.end(this.body);
  }

  reject(socket: Duplex): void {
    if (socket.destroyed) return;
    const head = [
      'HTTP/1.1 503 Service Unavailable',
      'Connection: close',
      'Content-Type: text/html; charset=utf-8',
      `Content-Length: ${this.body.length}`,
      'Cache-Control: no-store',
      `Retry-After: ${this.retryAfterS}`,
    ].join('\r\n');
    socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), this.body]));
  }
}
