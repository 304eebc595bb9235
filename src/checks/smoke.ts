/**
 * Smoke steps (checks.smoke) against one colour directly, bypassing the public proxy: HTTP steps
 * routed like the proxy would route them, with captures feeding `{{var}}` templates of later
 * steps, and `run:` steps for anything else. In order; the first failure stops the rest.
 */
import type { Colour, Config, HttpSmokeStep, RunSmokeStep, SmokeStep } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { routeFor, sortRoutes } from '../config/routes.js';
import type { ServiceEndpoints } from '../runtime/types.js';
import { matchExpect, preview } from './expect.js';
import { httpRequest, urlOf } from './http.js';
import { runCommand } from '../util/run-command.js';
import { captureText, evalJsonPath, fillJson, fillTemplate } from './template.js';

export interface StepResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
  /** True for steps not run because an earlier one failed. */
  skipped?: boolean;
}

export interface SmokeInput {
  config: Config;
  colour: Colour;
  /**
   * Per service, its instances' endpoints: the steps go to instance 1 (a step may change data, so
   * it runs once); health level 3 checks every instance.
   */
  endpoints: ServiceEndpoints;
  /** Working folder of `run:` steps (the folder holding switchyard.yml). */
  projectDir?: string;
  signal?: AbortSignal;
  /** Extra environment for `run:` steps (e.g. LoadedConfig.serviceEnv of a service). */
  env?: Record<string, string>;
  onStep?(result: StepResult): void;
}

export interface SmokeResult {
  ok: boolean;
  steps: StepResult[];
}

const isRun = (s: SmokeStep): s is RunSmokeStep => 'run' in s;

/** TARGET_URL, COLOUR and SERVICE_<NAME>_URL for `run:` steps. */
export function smokeEnv(config: Config, colour: Colour, endpoints: ServiceEndpoints): Record<string, string> {
  const env: Record<string, string> = { COLOUR: colour };
  for (const [name, list] of Object.entries(endpoints))
    if (list[0]) env[`SERVICE_${name.toUpperCase().replace(/-/g, '_')}_URL`] = urlOf(list[0]);
  const routes = config.proxy.routes;
  const front = routes.find((r) => r.path === '/') ?? routes[0];
  const target = front && endpoints[front.service]?.[0];
  if (target) env.TARGET_URL = urlOf(target);
  return env;
}

async function httpStep(step: HttpSmokeStep, input: SmokeInput, vars: Record<string, string>): Promise<string> {
  const path = fillTemplate(step.request.path, vars);
  const route = routeFor(sortRoutes(input.config.proxy.routes), path);
  if (!route) return `no proxy route matches ${path}`;
  const endpoint = input.endpoints[route.service]?.[0];
  if (!endpoint) return `no endpoint known for service ${route.service} on ${input.colour}`;

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.request.headers)) headers[k] = fillTemplate(v, vars);
  let body: string | undefined;
  if (step.request.json !== undefined) {
    body = JSON.stringify(fillJson(step.request.json, vars));
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
      headers['content-type'] = 'application/json';
  } else if (step.request.body !== undefined) body = fillTemplate(step.request.body, vars);

  const res = await httpRequest({
    endpoint,
    method: step.request.method,
    path,
    headers,
    body,
    timeoutMs: input.config.checks.requestTimeout,
    signal: input.signal,
  });
  const problems = matchExpect(step.expect, res);
  if (problems.length) return `${step.request.method} ${path} -> ${route.service}: ${problems.join('; ')}`;

  const captures = Object.entries(step.capture);
  if (captures.length === 0) return '';
  let json: unknown;
  try {
    json = JSON.parse(res.bodyText);
  } catch {
    return `capture needs a JSON body, got ${JSON.stringify(preview(res.bodyText))}`;
  }
  for (const [name, jsonPath] of captures) {
    const v = evalJsonPath(json, jsonPath);
    if (v === undefined || v === null)
      return `capture ${name}: ${jsonPath} not found in ${JSON.stringify(preview(res.bodyText))}`;
    vars[name] = captureText(v);
  }
  return '';
}

export async function runSmoke(input: SmokeInput): Promise<SmokeResult> {
  const steps: StepResult[] = [];
  const vars: Record<string, string> = {};
  const runEnv = { ...process.env, ...input.env, ...smokeEnv(input.config, input.colour, input.endpoints) };
  let failed = false;
  for (const step of input.config.checks.smoke) {
    if (failed || input.signal?.aborted) {
      const why = failed ? 'not run: an earlier step failed' : 'not run: cancelled';
      const r: StepResult = { name: step.name, ok: false, ms: 0, detail: why, skipped: true };
      steps.push(r);
      input.onStep?.(r);
      failed = true;
      continue;
    }
    const t0 = performance.now();
    let ok: boolean;
    let detail: string;
    try {
      if (isRun(step))
        ({ ok, detail } = await runCommand(step, {
          cwd: input.projectDir ?? process.cwd(),
          env: runEnv,
          signal: input.signal,
        }));
      else {
        detail = await httpStep(step, input, vars);
        ok = detail === '';
      }
    } catch (e) {
      ok = false;
      detail = errorMessage(e);
    }
    const r: StepResult = { name: step.name, ok, ms: Math.round(performance.now() - t0), detail };
    steps.push(r);
    input.onStep?.(r);
    if (!ok) failed = true;
  }
  return { ok: !failed, steps };
}
