/** Endpoints of a colour's instances grouped per service (Runtime.endpoints), for both runtimes. */
import { parseInstanceKey } from '../config/instances.js';
import type { Endpoint, ServiceEndpoints } from './types.js';

/** `[[api, e1], [api.2, e2], [web, e3]]` -> `{ api: [e1, e2], web: [e3] }`, each list by instance number. */
export function groupByService(byKey: [string, Endpoint][]): ServiceEndpoints {
  const indexed = byKey.map(([key, e]) => ({ ...parseInstanceKey(key), e }));
  indexed.sort((a, b) => a.index - b.index);
  const out: ServiceEndpoints = {};
  for (const { service, e } of indexed) (out[service] ??= []).push(e);
  return out;
}
