/**
 * The maintenance allowlist as nginx `geo` entries: every address or CIDR block (validated by the
 * schema, checked again here since it is rendered) becomes network/prefix with the host bits
 * cleared, so nginx has nothing to warn about ("low address bits ... are meaningless").
 */
import net from 'node:net';
import { parseIpOrCidr } from '../../config/traffic-schema.js';
import { SwitchyardError } from '../../errors.js';

function v4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6ToBig(a: string): bigint {
  let text = a;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = v4ToBig(v4[1]!);
    text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
}

function bigToV6(n: bigint): string {
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt((7 - i) * 16)) & 0xffffn).toString(16)).join(':');
}

const MAPPED = 0xffffn << 32n;

/**
 * "10.1.2.3/8" -> "10.0.0.0/8", "::1" -> "0:0:0:0:0:0:0:1/128"; throws on anything else. An
 * IPv4-mapped block (::ffff:10.0.0.0/104) becomes its IPv4 block: nginx's geo looks IPv4-mapped
 * clients up as IPv4.
 */
export function geoNetwork(entry: string): string {
  const p = parseIpOrCidr(entry);
  if (!p || p.address.includes('%') || net.isIP(p.address) === 0) {
    throw new SwitchyardError(
      'PROXY_FAILED',
      `maintenance allowlist entry ${JSON.stringify(entry)} is not an IP address or CIDR block`,
      {
        hint: 'fix proxy.maintenance.allow in switchyard.yml',
      },
    );
  }
  const bits = p.family === 'ipv4' ? 32 : 128;
  const value = p.family === 'ipv4' ? v4ToBig(p.address) : v6ToBig(p.address);
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - p.prefix)) - 1n);
  const network = value & mask;
  if (p.family === 'ipv6' && p.prefix >= 96 && network >> 32n === MAPPED >> 32n)
    return `${bigToV4(network & 0xffffffffn)}/${p.prefix - 96}`;
  return `${p.family === 'ipv4' ? bigToV4(network) : bigToV6(network)}/${p.prefix}`;
}
