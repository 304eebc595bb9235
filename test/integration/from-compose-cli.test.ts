/**
 * `switchyard init --from-compose`, the CLI around the converter (src/compose), on copies of
 * examples/compose (with ../app and ../docker beside it, as in the repository). No Docker: the
 * written switchyard.yml is checked by loading it as every command does. The end-to-end run of the
 * result (init, deploy under load, backups) is test/e2e/from-compose.test.ts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { budget } from '../helpers/budget.ts';
import { ROOT, runCli } from '../helpers/project.ts';

// A password the compose files take from the environment: no output may ever show it.
const SECRET = `pw-${randomBytes(8).toString('hex')}`;
let tmp: string;

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'sy-compose-cli-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

let copies = 0;
/** A fresh copy of examples/{app,docker,compose}; returns its compose folder. */
async function copy(): Promise<string> {
  const root = path.join(tmp, String(++copies));
  const skip = (s: string) => !/[/\\](data|\.switchyard|\.current-env|switchyard\.ya?ml)$/.test(s);
  for (const d of ['app', 'docker', 'compose'])
    await fs.cp(path.join(ROOT, 'examples', d), path.join(root, d), { recursive: true, filter: skip });
  return path.join(root, 'compose');
}

type Run = Awaited<ReturnType<typeof runCli>>;

async function cli(cwd: string, args: string[]): Promise<Run> {
  const env = { ...process.env, POSTGRES_PASSWORD: SECRET, SWITCHYARD_PORT: '18080', NO_COLOR: '1' };
  const r = await runCli(args, { cwd, env, timeoutMs: 20_000 });
  assert.ok(!r.stdout.includes(SECRET) && !r.stderr.includes(SECRET), `${args.join(' ')} printed the password`);
  return r;
}

interface Note {
  file: string;
  line: number;
  message: string;
}

type Env = Record<string, string>;
interface Converted {
  runtime: string;
  proxy: { listen: { http: unknown; host?: string }; routes: Array<{ path: string; service: string }> };
  services: Record<string, { port?: number; env?: Env; environment?: Env; health?: { path?: string } }>;
  shared?: Record<string, { volumes?: string[] }>;
  backup?: { kind: string; container?: string };
}

/** What must match examples/docker/switchyard.yml whichever compose file it came from. */
function essentials(c: Converted) {
  return {
    runtime: c.runtime,
    routes: c.proxy.routes.map((r) => `${r.path} -> ${r.service}`).sort(),
    services: Object.entries(c.services)
      .map(([n, s]) => `${n}:${s.port}:${s.health?.path}`)
      .sort(),
    shared: Object.keys(c.shared ?? {}).sort(),
    backup: c.backup && `${c.backup.kind}:${c.backup.container}`,
  };
}

test(
  'init --from-compose writes switchyard.yml, names what it decided and could not, deploys nothing',
  budget(5_000),
  async () => {
    const dir = await copy();
    // The notes as data first (--print --json writes nothing), then the run people see.
    const j = await cli(dir, ['init', '--from-compose', '--print', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const notes = JSON.parse(j.stderr.trim()) as { event: string; decisions: Note[]; unsupported: Note[] };
    assert.equal(notes.event, 'compose');
    assert.ok(notes.decisions.length > 0);
    const r = await cli(dir, ['init', '--from-compose']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const text = await fs.readFile(path.join(dir, 'switchyard.yml'), 'utf8');
    assert.equal(text, j.stdout, '--print shows exactly what is written');
    const c = parse(text) as Converted;
    const want = parse(await fs.readFile(path.join(ROOT, 'examples', 'docker', 'switchyard.yml'), 'utf8')) as Converted;
    assert.deepEqual(essentials(c), essentials(want), text);
    // The published port: kept as the variable, or its value when the converter resolves it.
    assert.ok(['${SWITCHYARD_PORT:-8080}', '18080'].includes(String(c.proxy.listen.http)), String(c.proxy.listen.http));
    assert.equal(c.proxy.listen.host, '127.0.0.1', 'published on 127.0.0.1 only, as in the compose file');
    assert.match(r.stdout, /^Wrote switchyard\.yml from docker-compose\.yml; nothing was deployed$/m);
    const note = (n: Note) => `${n.file}:${n.line}: ${n.message}`;
    const decided = r.stdout.split(/^Decided \(\d+\):$/m)[1]?.split(/^Could not express|^Next:/m)[0] ?? '';
    for (const n of notes.decisions) assert.ok(decided.includes(`\n  ${note(n)}\n`), note(n));
    const left = r.stdout.split(/^Could not express \(\d+\).*$/m)[1] ?? '';
    for (const n of notes.unsupported) assert.ok(left.includes(`\n! ${note(n)}\n`), note(n));
    assert.match(r.stdout, /^Next: .*`switchyard init --plan` .*`switchyard init`$/m);
    assert.equal(r.stderr, '');
    // Valid for switchyard as every command loads it (schema, rules, build contexts that exist).
    const loaded = await loadConfig({ cwd: dir, env: { POSTGRES_PASSWORD: SECRET, SWITCHYARD_PORT: '18080' } });
    assert.deepEqual(Object.keys(loaded.config.services).sort(), ['api', 'frontend']);
    assert.ok(!existsSync(path.join(dir, '.switchyard')), 'nothing deployed: no state folder');
  },
);

test('an existing switchyard.yml: exit 2 and unchanged; --force replaces it', budget(5_000), async () => {
  const dir = await copy();
  const file = path.join(dir, 'switchyard.yml');
  await fs.writeFile(file, 'app: mine\n');
  const r = await cli(dir, ['init', '--from-compose']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /switchyard\.yml already exists: nothing was written/);
  assert.match(r.stderr, /--force/);
  assert.equal(await fs.readFile(file, 'utf8'), 'app: mine\n');
  assert.deepEqual(
    (await fs.readdir(dir)).filter((f) => f.endsWith('.tmp')),
    [],
    'no temp file left',
  );
  const f = await cli(dir, ['init', '--from-compose', '--force']);
  assert.equal(f.code, 0, f.stdout + f.stderr);
  assert.match(await fs.readFile(file, 'utf8'), /runtime: docker/);
});

test('--print: the YAML alone on stdout, the notes on stderr, no file written', budget(5_000), async () => {
  const dir = await copy();
  const r = await cli(dir, ['init', '--from-compose', '--print']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((parse(r.stdout) as Converted).runtime, 'docker');
  assert.match(r.stderr, /docker-compose\.yml:\d+: /);
  assert.ok(!existsSync(path.join(dir, 'switchyard.yml')));
  const w = await cli(dir, ['init', '--from-compose']);
  assert.equal(await fs.readFile(path.join(dir, 'switchyard.yml'), 'utf8'), r.stdout, 'the same text as written');
  assert.equal(w.code, 0);
});

test('a bad compose file: exit non-zero, the message names file:line, nothing written', budget(5_000), async () => {
  const dir = await copy();
  await fs.writeFile(path.join(dir, 'docker-compose.yml'), 'services:\n  api:\n    image: [unclosed\n  web: {}\n');
  const r = await cli(dir, ['init', '--from-compose']);
  assert.notEqual(r.code, 0, r.stdout);
  assert.match(r.stderr, /docker-compose\.yml:[34]\b/);
  assert.ok(!existsSync(path.join(dir, 'switchyard.yml')));
  const missing = await cli(dir, ['init', '--from-compose', 'nope.yml']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /nope\.yml/);
  assert.ok(!existsSync(path.join(dir, 'switchyard.yml')));
});

test('-f overrides merge in order, like docker compose; -c names where it goes', budget(5_000), async () => {
  const dir = await copy();
  await fs.writeFile(path.join(dir, 'prod.yml'), 'services:\n  api:\n    environment:\n      NODE_ENV: production\n');
  await fs.mkdir(path.join(dir, 'deploy'));
  const r = await cli(dir, ['-c', 'deploy/sy.yml', 'init', '--from-compose', 'docker-compose.yml', '-f', 'prod.yml']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^Wrote deploy\/sy\.yml from docker-compose\.yml, prod\.yml/m);
  assert.match(r.stdout, /switchyard init --plan -c deploy\/sy\.yml/);
  const c = parse(await fs.readFile(path.join(dir, 'deploy', 'sy.yml'), 'utf8')) as Converted;
  assert.equal(c.services.api?.environment?.NODE_ENV ?? c.services.api?.env?.NODE_ENV, 'production');
  // Its paths (build contexts) are right from its own folder.
  await loadConfig({ cwd: dir, file: 'deploy/sy.yml', env: { POSTGRES_PASSWORD: SECRET, SWITCHYARD_PORT: '18080' } });
  assert.ok(!existsSync(path.join(dir, 'switchyard.yml')));
});

test(
  '-c elsewhere without FILE: the compose files are found here, as docker compose finds them',
  budget(5_000),
  async () => {
    const dir = await copy();
    await fs.mkdir(path.join(dir, 'deploy'));
    const r = await cli(dir, ['-c', 'deploy/sy.yml', 'init', '--from-compose']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Wrote deploy\/sy\.yml from docker-compose\.yml;/m);
    await loadConfig({ cwd: dir, file: 'deploy/sy.yml', env: { POSTGRES_PASSWORD: SECRET, SWITCHYARD_PORT: '18080' } });
  },
);

test('the blue-green compose file gives the same switchyard.yml in what matters', budget(5_000), async () => {
  const dir = await copy();
  const plain = await cli(dir, ['init', '--from-compose', '--print']);
  const bg = await cli(dir, ['init', '--from-compose', 'docker-compose.bluegreen.yml', '--print']);
  assert.equal(bg.code, 0, bg.stderr);
  const c = parse(bg.stdout) as Converted;
  assert.deepEqual(essentials(c), essentials(parse(plain.stdout) as Converted), bg.stdout);
  const api = { ...c.services.api?.environment, ...c.services.api?.env };
  assert.equal(api.ENVIRONMENT_NAME, undefined, 'switchyard sets ENVIRONMENT_NAME itself');
  assert.match(bg.stderr, /docker-compose\.bluegreen\.yml:\d+: /);
});

test('--json: one compose event; options that need --from-compose or clash with it exit 2', budget(5_000), async () => {
  const dir = await copy();
  const j = await cli(dir, ['init', '--from-compose', '--json']);
  assert.equal(j.code, 0, j.stderr);
  const events = j.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; files?: string[] });
  assert.deepEqual(
    events.map((e) => [e.event, e.files]),
    [['compose', ['docker-compose.yml']]],
  );
  for (const args of [
    ['init', '--force'],
    ['init', '--print'],
    ['init', '-f', 'docker-compose.yml'],
    ['init', '--from-compose', '--plan'],
    ['init', '--from-compose', '--ref', 'HEAD'],
    ['init', '--from-compose', '--print', '--force'],
  ]) {
    const r = await cli(dir, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
  }
  const help = await cli(dir, ['init', '--help']);
  assert.match(help.stdout, /--from-compose \[file\]/);
});
