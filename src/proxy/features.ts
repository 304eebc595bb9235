/**
 * What a proxy needs to know from the config beyond routes (issue 6): the preview listener and
 * matcher, canary stickiness, maintenance allowlist. Plain data, the same for both proxies.
 */
import type { ProxyConfig } from '../config/schema.js';

export interface PreviewMatch {
  /** Request header that selects the inactive colour on the public listener. */
  header?: string;
  /** Cookie that does the same. */
  cookie?: string;
  /** The value the header or cookie must carry. */
  token: string;
}

export interface ProxyFeatures {
  /** The preview listener (serves the inactive colour), or null when listen.preview is not set. */
  preview: { host: string; port: number } | null;
  /** Header/cookie preview on the public listener, or null when neither is configured. */
  previewMatch: PreviewMatch | null;
  sticky: 'cookie' | 'address';
  stickyCookie: string;
  /** IP addresses or CIDR blocks that bypass maintenance mode. */
  maintenanceAllow: string[];
  /** Retry-After of the maintenance 503, whole seconds. */
  retryAfterS: number;
}

export const NO_FEATURES: ProxyFeatures = {
  preview: null,
  previewMatch: null,
  sticky: 'cookie',
  stickyCookie: 'sy_canary',
  maintenanceAllow: [],
  retryAfterS: 60,
};

export function featuresOf(proxy: ProxyConfig): ProxyFeatures {
  const p = proxy.preview;
  const match = p.header !== undefined || p.cookie !== undefined;
  return {
    preview: proxy.listen.preview === undefined ? null : { host: p.host, port: proxy.listen.preview },
    previewMatch: match
      ? { ...(p.header ? { header: p.header } : {}), ...(p.cookie ? { cookie: p.cookie } : {}), token: p.token }
      : null,
    sticky: proxy.sticky,
    stickyCookie: proxy.stickyCookie,
    maintenanceAllow: [...proxy.maintenance.allow],
    retryAfterS: Math.max(1, Math.round(proxy.maintenance.retryAfter / 1000)),
  };
}

export function sameFeatures(a: ProxyFeatures | undefined, b: ProxyFeatures): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}
