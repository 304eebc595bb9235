/**
 * preview <colour>: make a running, inactive colour reachable through the proxy's preview route
 * (the preview listener, and the preview header/cookie on the public listener) and say how. The
 * proxy always previews the inactive colour; this checks that colour, registers its addresses
 * with the proxy and health-checks it.
 */
import type { Colour } from '../config/schema.js';
import { SwitchyardError } from '../errors.js';
import { featuresOf, type ProxyFeatures } from '../proxy/features.js';
import { backendsOf, warmHealthGate } from './colour.js';
import type { Engine } from './context.js';
import { gatherFacts } from './facts.js';
import { openProxy } from './proxy.js';
import { StepRunner } from './steps.js';

export interface PreviewResult {
  colour: Colour;
  url: string | null;
  header: string | null;
  cookie: string | null;
}

export async function preview(e: Engine, colour: Colour): Promise<PreviewResult> {
  const cfg = e.loaded.config;
  const f = featuresOf(cfg.proxy);
  if (!f.preview && !f.previewMatch) {
    throw new SwitchyardError('USAGE', 'no preview route is configured', {
      hint:
        'set proxy.listen.preview to a free port (and optionally proxy.preview.header or .cookie)' +
        ' in switchyard.yml',
    });
  }
  const { control, status } = await openProxy(e);
  if (status.active === colour) {
    throw new SwitchyardError('USAGE', `${colour} is the live colour: the preview route shows the other one`, {
      hint: `\`switchyard preview ${colour === 'blue' ? 'green' : 'blue'}\``,
    });
  }
  const facts = await gatherFacts(e);
  if (!facts.running[colour]) {
    throw new SwitchyardError('USAGE', `${colour} is not running, so there is nothing to preview`, {
      hint:
        'deploy without --auto-switch (it previews while it asks)' +
        ', or `switchyard deploy --keep-old` to keep the old colour running',
    });
  }
  await control.setBackends(colour, await backendsOf(e, colour));
  const steps = new StepRunner(e.reporter, 1);
  await steps.run(`Checking ${colour}`, (h) => warmHealthGate(e, colour, h));
  const result = previewOf(f, colour);
  for (const line of previewLines(result)) e.reporter.info(line);
  e.reporter.event('result', { ok: true, ...result });
  return result;
}

export function previewUrl(f: ProxyFeatures): string | null {
  return f.preview
    ? `http://${f.preview.host.includes(':') ? `[${f.preview.host}]` : f.preview.host}:${f.preview.port}/`
    : null;
}

export function previewOf(f: ProxyFeatures, colour: Colour): PreviewResult {
  return {
    colour,
    url: previewUrl(f),
    header: f.previewMatch?.header ? `${f.previewMatch.header}: <proxy.preview.token>` : null,
    cookie: f.previewMatch?.cookie ? `${f.previewMatch.cookie}=<proxy.preview.token>` : null,
  };
}

/** How to reach the preview, one line per way (the token itself is a secret: never printed). */
export function previewLines(r: PreviewResult): string[] {
  const out: string[] = [];
  if (r.url) out.push(`Preview of ${r.colour}: ${r.url}`);
  if (r.header) out.push(`  or on the public address with the header ${r.header}`);
  if (r.cookie) out.push(`  or on the public address with the cookie ${r.cookie}`);
  return out;
}
