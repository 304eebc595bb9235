/**
 * The proxy options of issue 6 that both proxies share: the preview listener and preview
 * header/cookie, canary stickiness, and maintenance mode's allowlist. Part of `proxy:`.
 */
import net from 'node:net';
import * as z from 'zod';
import { duration, headerName } from './schema-prims.js';

/** RFC 6265 cookie-name: a token. */
export const cookieName = z
  .string()
  .regex(
    /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/,
    "must be a cookie name (letters, digits and !#$%&'*+.^_`|~-, at most 64)",
  );

/** An IPv4/IPv6 address, or a CIDR block such as 10.0.0.0/8 or fd00::/8. */
export const ipOrCidr = z
  .string()
  .refine((s) => parseIpOrCidr(s) !== undefined, 'expected an IP address or a CIDR block such as 10.0.0.0/8');

export function parseIpOrCidr(s: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText, extra] = s.split('/');
  if (extra !== undefined) return undefined;
  const v = net.isIP(address);
  if (v === 0) return undefined;
  const max = v === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family: v === 4 ? 'ipv4' : 'ipv6' };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { address, prefix: Number(prefixText), family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** The value a preview header/cookie must carry: printable ASCII without separators that would break a cookie. */
const token = z
  .string()
  .regex(/^[\u0021-\u007e]{1,200}$/, 'must be 1-200 printable ASCII characters without spaces')
  .refine((s) => !/[;,"\\]/.test(s), 'must not contain ; , " or \\');

export const previewSchema = z
  .object({
    /** Address of the preview listener (listen.preview): loopback unless you open it on purpose. */
    host: z.string().min(1).default('127.0.0.1').meta({
      description: 'address of the preview listener (`listen.preview`): loopback unless you open it on purpose',
    }),
    /**
     * On the public listener, a request carrying this header (with `token` as its value) goes to the inactive colour.
     */
    header: headerName.optional().meta({
      description:
        'on the public listener, a request carrying this header with the value `token` goes to the inactive colour',
    }),
    /** Same with a cookie of this name. */
    cookie: cookieName.optional().meta({
      description:
        'on the public listener, a request carrying a cookie of this name with the value `token` goes to the ' +
        'inactive colour',
    }),
    /** The value the header or cookie must carry (default "1"). Set one on a public site: anyone can send a header. */
    token: token.default('1').meta({
      description:
        'the value the preview header or cookie must carry; set a real token on a public site ' +
        '(anyone can send a header)',
    }),
  })
  .strict();

export const maintenanceSchema = z
  .object({
    /** Addresses (or CIDR blocks) that still reach the app while maintenance is on. */
    allow: z
      .array(ipOrCidr)
      .default([])
      .meta({ description: 'addresses or CIDR blocks still served during maintenance' }),
    /** Sent as Retry-After (whole seconds) with the 503. */
    retryAfter: duration
      .default(60_000)
      .meta({ description: "the 503's `Retry-After` during maintenance (sent in whole seconds)", 'x-default': '60s' }),
  })
  .strict();

/** Fields added to both proxy kinds' objects (spread into each schema). */
export const trafficFields = {
  preview: previewSchema
    .default(() => previewSchema.parse({}))
    .meta({
      description:
        'the preview header or cookie that sends a request on the public listener to the inactive colour, ' +
        "and the preview listener's address",
      'x-default': '{ host: 127.0.0.1, token: "1" }',
    }),
  /** How a canary split keeps one client on one colour: a cookie the proxy sets, or a hash of the client address. */
  sticky: z
    .enum(['cookie', 'address'])
    .default('cookie')
    .meta({
      description:
        'how a split keeps a client on one colour: a cookie the proxy sets while a split runs (`cookie`), ' +
        'or a hash of the client address (`address`)',
    }),
  stickyCookie: cookieName.default('sy_canary').meta({
    description: 'with `sticky: cookie`: the name of the cookie the proxy sets while a split runs',
  }),
  maintenance: maintenanceSchema
    .default(() => maintenanceSchema.parse({}))
    .meta({
      description: "maintenance mode: the addresses still served while it is on, and the 503's `Retry-After`",
      'x-default': '{ allow: [], retryAfter: 60s }',
    }),
};

/** listen.preview: the port of the preview listener (absent: no preview listener). */
export const previewPort = {
  preview: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .optional()
    .meta({
      description:
        'port of the preview listener: it serves the inactive colour, on `proxy.preview.host` (`127.0.0.1`); ' +
        'absent: no preview listener',
    }),
};
