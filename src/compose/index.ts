/**
 * `switchyard init --from-compose`: a project's compose files as a commented switchyard.yml
 * (runtime docker). App services run once per colour, databases and caches become shared
 * services, an nginx (or caddy, traefik, haproxy) in front becomes the proxy. Every compose key is
 * converted, decided (a note) or listed as unsupported with its line. Nothing is written here.
 */
import path from 'node:path';
import { checkOutput } from './check.js';
import { findMigration } from './migrate.js';
import { emitConfig } from './emit.js';
import { relative } from './files.js';
import { appHostNotes } from './hosts.js';
import { nameServices, appName } from './naming.js';
import { checkPublishedPorts } from './published.js';
import { type ProjectOptions, readProject } from './project.js';
import { type AppFront, type ProxyInput, proxySection } from './proxy.js';
import { classify } from './roles.js';
import { nginxRoutes } from './routes.js';
import { convertApp } from './service.js';
import { dependencyNotes, foldedNotes } from './service-notes.js';
import { convertShared } from './shared.js';
import { type ComposeNote, isMap, type JsonMap } from './types.js';
import { topLevelNotes } from './top-level.js';

export type { ComposeNote } from './types.js';

export interface ComposeConversion {
  /** The commented switchyard.yml (valid against switchyard's schema). */
  text: string;
  /** What it decided, one line each. */
  decisions: ComposeNote[];
  /** What it could not express, with the line it came from. */
  unsupported: ComposeNote[];
  /** The compose files read, in merge order (relative to dir). */
  files: string[];
}

/** Keys every role leaves to this file: the dependency notes, profiles, container names. */
const HANDLED = ['depends_on', 'profiles', 'container_name'];

/**
 * `dir`: where `files` (default: found as compose finds them) are, and what the notes' file names
 * are relative to. Relative paths in compose start from the project folder (that of the first
 * file); those written are relative to `outDir`, the folder of the switchyard.yml (default: the
 * project folder).
 */
export async function convertCompose(opts: ProjectOptions): Promise<ComposeConversion> {
  const { ctx, files, hasDotenv, active } = readProject(opts);
  const services = isMap(ctx.val.services) ? ctx.val.services : {};
  checkPublishedPorts(ctx, active);
  const roles = new Map(active.map((n) => [n, classify(ctx.project, services[n] ?? null)]));
  const proxies = active.filter((n) => roles.get(n)?.role === 'proxy');
  const front = proxies.find((n) => isMap(services[n]) && Array.isArray((services[n] as JsonMap).ports)) ?? proxies[0];
  for (const n of proxies) if (n !== front) roles.set(n, { ...roles.get(n), role: 'app' });
  const candidates = active.filter((n) => roles.get(n)?.role === 'app');
  const shared = active.filter((n) => roles.get(n)?.role === 'shared');
  const naming = nameServices(ctx, [...candidates, ...shared], active);
  const migration = findMigration(ctx, candidates, (n) => naming.out.get(n) ?? n);
  const apps = candidates.filter((n) => n !== migration?.name);
  const app = appName(ctx, files);
  const config: JsonMap = { app, runtime: 'docker' };
  ctx.comment('runtime', 'docker: compose ran these as containers; switchyard runs each app service once per colour');
  if (hasDotenv) {
    config.env_file = ctx.hostPath('.env');
    ctx.decideAt(
      { file: relative(ctx.dir, path.join(ctx.project, '.env')), line: 1 },
      'env_file: .env: its variables fill ${...} and reach every service',
    );
    ctx.comment('env_file', 'the .env compose read: switchyard also gives its variables to every service');
  }
  topLevelNotes(ctx);
  for (const n of active) if (!naming.folded.has(n)) dependencyNotes(ctx, n, roles, migration?.name);
  const image = front ? String((services[front] as JsonMap).image ?? '') : '';
  const kind = front ? roles.get(front)?.proxy : undefined;
  const proxy: ProxyInput | undefined =
    front && kind
      ? {
          name: front,
          kind,
          ...(kind === 'nginx' ? { found: nginxRoutes(ctx, front, (h) => naming.hosts.get(h)) } : {}),
        }
      : undefined;
  if (front && kind === 'other')
    ctx.decide(['services', front], `services.${front}: ${image} in front: the built-in proxy takes its place`);
  const why = front ? roles.get(front)?.why : undefined;
  if (front && why) ctx.decide(['services', front], `services.${front}: ${why}: the nginx proxy (mode: container)`);
  const appNames = new Set(apps.map((n) => naming.out.get(n)));
  const appHosts = new Map([...naming.hosts].filter(([, to]) => appNames.has(to)));
  const out: JsonMap = {};
  const fronts: AppFront[] = [];
  for (const n of apps) {
    const who = naming.out.get(n) as string;
    if (naming.folded.has(n)) {
      foldedNotes(ctx, n, apps.find((m) => m !== n && naming.out.get(m) === who && !naming.folded.has(m)) ?? n);
      continue;
    }
    const folded = [...naming.folded].some((f) => naming.out.get(f) === who);
    const a = convertApp(ctx, n, who, {
      drop: folded ? ['ENVIRONMENT_NAME'] : [],
      handled: HANDLED,
      ...(proxy?.found?.ports.has(who) ? { upstreamPort: proxy.found.ports.get(who) as number } : {}),
    });
    out[who] = a.config;
    appHostNotes(ctx, n, who, appHosts);
    fronts.push({ name: who, published: a.published, routeLabels: a.routeLabels });
  }
  config.proxy = proxySection(ctx, proxy, fronts, HANDLED);
  config.services = out;
  const sharedOut: JsonMap = {};
  let backup: string | undefined;
  for (const n of shared) {
    const who = naming.out.get(n) as string;
    sharedOut[who] = convertShared(ctx, n, who, HANDLED).config;
    const r = roles.get(n);
    if (r?.whyAt) ctx.decide(['services', n, r.whyAt], `services.${n}: ${r.why}: a shared service`);
    else if (r?.why)
      ctx.decide(['services', n], `services.${n}: ${r.why}: a shared ${r.kind} service (one for both colours)`);
    else ctx.decide(['services', n], `services.${n}: ${r?.image}: a shared service (one for both colours)`);
    if (!backup && r?.kind === 'postgres') backup = who;
  }
  if (shared.length) {
    config.shared = sharedOut;
    ctx.comment('shared', 'shared: one container for both colours (per colour would split the database)');
  }
  if (backup) {
    config.backup = { kind: 'postgres', container: backup };
    ctx.comment('backup', `pg_dump inside the shared ${backup} container before every deploy`);
  }
  if (migration) {
    config.deploy = { hooks: { migrate: migration.hook } };
    ctx.comment('deploy', `services.${migration.name} of compose: run in the new colour before the switch`);
  }
  const header = [
    `switchyard.yml made by \`switchyard init --from-compose\` from ${files.join(', ')}.`,
    'Review it: the notes printed with it list every decision and everything left out.',
  ];
  const text = emitConfig(config, header, ctx.comments);
  checkOutput(text, ctx.vars);
  return { text, decisions: sorted(ctx.decisions, files), unsupported: sorted(ctx.unsupported, files), files };
}

function sorted(notes: ComposeNote[], files: string[]): ComposeNote[] {
  const rank = (f: string) => (files.indexOf(f) < 0 ? files.length : files.indexOf(f));
  return notes
    .map((n, i) => ({ n, i }))
    .sort(
      (a, b) => rank(a.n.file) - rank(b.n.file) || a.n.file.localeCompare(b.n.file) || a.n.line - b.n.line || a.i - b.i,
    )
    .map(({ n }) => n);
}
