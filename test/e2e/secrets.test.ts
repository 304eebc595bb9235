/**
 * I8: secrets never appear in what switchyard prints or writes. What it guarantees (docs/security.md):
 * its own output (every command, text and --json, `logs` included), history.jsonl, state.json,
 * run/*.json, proxy.json, the journal, its own lines in logs/ (proxy.log, the `--- switchyard`
 * headers of service and build logs). What it does not touch: the lines the app itself writes to
 * its log file (the app's business), and the release snapshots (copies of the project's files).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { budget } from '../helpers/budget.ts';
import { freePort, makeProject, useProject } from '../helpers/project.ts';

const SECRET = 'tok-9f8e7d6c5b4a-do-not-print';
const project = useProject({ before, after }, 'fixture');

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'releases' && e.name !== 'logs') out.push(...(await listFiles(p)));
    } else out.push(p);
  }
  return out;
}

test(
  'a smoke failure that echoes the secret prints *** instead, and nothing switchyard writes holds it',
  budget(1_700),
  async () => {
    const p = project();
    await fs.writeFile(path.join(p.dir, '.env'), `API_TOKEN=${SECRET}\n`);
    const yml = path.join(p.dir, 'switchyard.yml');
    const original = await fs.readFile(yml, 'utf8');
    // The echo step sends the token and expects something else, so the failure detail shows the echoed body.
    await fs.writeFile(
      yml,
      `env_file: .env\n` +
        original
          .replace('json: { hello: world } }', 'json: { token: "${API_TOKEN}" } }')
          .replace(
            'expect: { status: 200, json: { echo: { hello: world } } }',
            'expect: { status: 200, json: { echo: { token: nope } } }',
          ),
    );
    const r = await p.run(['init']);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, /smoke step "echo" failed/);
    assert.match(out, /\*\*\*/, 'the redaction marker is shown where the secret was');
    assert.ok(!out.includes(SECRET), 'the secret is not in the output');
    const json = await p.run(['init', '--json']);
    assert.ok(!(json.stdout + json.stderr).includes(SECRET), 'nor in --json events');
    for (const f of await listFiles(path.join(p.dir, '.switchyard'))) {
      const text = await fs.readFile(f, 'utf8').catch(() => '');
      assert.ok(!text.includes(SECRET), `${path.relative(p.dir, f)} holds the secret`);
    }
  },
);

/**
 * Lines holding a secret in every file under .switchyard (release snapshots aside), in .current-env
 * and in backup names. Only the app's own lines in its own log (not the `--- switchyard` headers) may.
 */
async function secretsInFiles(dir: string, secrets: string[]): Promise<string[]> {
  const leaks: string[] = [];
  let files = 0;
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      const rel = path.relative(dir, f);
      if (e.isDirectory()) {
        if (rel !== path.join('.switchyard', 'releases')) await walk(f);
        continue;
      }
      if (!e.isFile()) continue;
      files++;
      const appLog = /^\.switchyard\/logs\/(blue|green)\/[a-z0-9-]+\.log$/.test(rel);
      for (const line of (await fs.readFile(f, 'utf8')).split('\n')) {
        if (!secrets.some((s) => line.includes(s))) continue;
        if (appLog && !line.startsWith('--- switchyard')) continue;
        leaks.push(`${rel}: ${line.slice(0, 160)}`);
      }
    }
  };
  await walk(path.join(dir, '.switchyard'));
  assert.ok(files >= 5, `only ${files} files under .switchyard`);
  const top =
    (await fs.readFile(path.join(dir, '.current-env'), 'utf8').catch(() => '')) +
    (await fs.readdir(path.join(dir, 'backups')).catch(() => [])).join('\n');
  for (const secret of secrets) if (top.includes(secret)) leaks.push(`.current-env or backups/: ${secret}`);
  return leaks;
}

test(
  'a whole cycle, a crashing app that prints its environment and a failed backup: ' +
    'no secret in any output or in any file switchyard wrote',
  budget(7_200),
  async () => {
    const p = await makeProject('fixture');
    const planted = {
      dotenvToken: 'tok-dotenv-4f7a1e-never', // API_TOKEN in .env, sent as a smoke header
      dotenvPlain: 'plain-dotenv-8c2b9d-value', // a .env value with an ordinary name: still a secret
      password: 'pw-env-71d3a0-ADMIN', // ADMIN_PASSWORD from the real environment
      pgRaw: 'pgpass-K2v9-%21x', // the password of a postgres URL written in the config
      pgDecoded: 'pgpass-K2v9-!x',
    };
    const all = Object.values(planted);
    const outputs: string[] = [];
    const run = async (args: string[], want?: number) => {
      const r = await p.run(args, { env: { ADMIN_PASSWORD: planted.password } });
      outputs.push(`$ ${args.join(' ')}\n${r.stdout}${r.stderr}`);
      if (want !== undefined) assert.equal(r.code, want, `${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      return r;
    };
    try {
      await fs.writeFile(
        path.join(p.dir, '.env'),
        `API_TOKEN=${planted.dotenvToken}\nPLAIN_SETTING=${planted.dotenvPlain}\n`,
      );
      // The app, when asked to, prints every secret it was given and exits: a crash at start.
      await fs.writeFile(
        path.join(p.dir, 'leak.mjs'),
        "console.log('LEAK', JSON.stringify({ a: process.env.API_TOKEN, b: process.env.PLAIN_SETTING, " +
          'c: process.env.ADMIN_PASSWORD, d: process.env.DATABASE_URL }));\nprocess.exit(1);\n',
      );
      const yml = path.join(p.dir, 'switchyard.yml');
      const original = await fs.readFile(yml, 'utf8');
      const withSecrets = `env_file: .env\n${original}`
        .replace(
          '    health: { path: /health, expect: { status: 200, json: { status: ok } } }',
          `    env: { ADMIN_PASSWORD: "\${ADMIN_PASSWORD}", ` +
            `DATABASE_URL: "postgres://app:${planted.pgRaw}@127.0.0.1:1/app" }\n` +
            '    health: { path: /health, expect: { status: 200, json: { status: ok } } }',
        )
        .replace(
          'request: { method: POST, path: /api/echo, json: { hello: world } }',
          'request: { method: POST, path: /api/echo, headers: { Authorization: "Bearer ${API_TOKEN}" }, ' +
            'json: { hello: world } }',
        );
      assert.notEqual(withSecrets, `env_file: .env\n${original}`);
      await fs.writeFile(yml, withSecrets);

      await run(['init'], 0);
      await run(['deploy', '--auto-switch'], 0);
      for (const args of [
        ['status'],
        ['status', '--json'],
        ['history'],
        ['history', '--json'],
        ['health', 'green'],
        ['smoke', 'green'],
        ['smoke', 'green', '--json'],
        ['logs', 'green'],
        ['logs', 'blue', 'api'],
      ])
        await run(args, 0);
      await run(['rollback', '--force'], 0);

      // The app crashes at start after printing the secrets: the failure shows its last log lines.
      await fs.writeFile(
        yml,
        withSecrets.replace(
          '  api:\n    cwd: .\n    command: node server.mjs',
          '  api:\n    cwd: .\n    command: node leak.mjs',
        ),
      );
      const crash = await run(['deploy', '--auto-switch'], 1);
      assert.match(crash.stdout + crash.stderr, /LEAK/, "the failure shows the app's last lines");
      assert.match(crash.stdout + crash.stderr, /\*\*\*/, 'with *** where the secrets were');
      await run(['deploy', '--auto-switch', '--json'], 1);
      const logs = await run(['logs', 'green', 'api'], 0);
      assert.match(logs.stdout, /LEAK .*\*\*\*/, "`logs` shows the app's line, redacted");
      const appLog = await fs.readFile(path.join(p.dir, '.switchyard', 'logs', 'green', 'api.log'), 'utf8');
      assert.ok(
        appLog.includes(planted.password),
        'the app really wrote a secret to its own log (else the checks above prove nothing)',
      );

      // A backup to a database that is not there: the deploy stops at the backup step.
      const pgPort = await freePort();
      await fs.writeFile(
        yml,
        `${withSecrets}backup: { kind: postgres, ` +
          `url: "postgres://app:${planted.pgRaw}@127.0.0.1:${pgPort}/app", dir: backups }\n`,
      );
      const backup = await run(['deploy', '--auto-switch'], 1);
      assert.match(backup.stdout + backup.stderr, /backup/i);
      await run(['backup'], 1);
      await run(['status'], 0);

      const printed = outputs.join('\n');
      for (const secret of all) assert.ok(!printed.includes(secret), `printed: ${secret}`);

      const leaks = await secretsInFiles(p.dir, all);
      assert.deepEqual(leaks, []);
    } finally {
      await p.cleanup();
    }
  },
);

test(
  'with nginx in front: the rendered config and everything under .switchyard/nginx hold no secret',
  budget(6_300),
  async () => {
    const p = await makeProject('fixture', { proxy: 'nginx' });
    const token = 'tok-nginx-3b8e51-never';
    const password = 'pw-nginx-c40f2a-ADMIN';
    try {
      await fs.writeFile(path.join(p.dir, '.env'), `API_TOKEN=${token}\n`);
      const yml = path.join(p.dir, 'switchyard.yml');
      const text = `env_file: .env\n${await fs.readFile(yml, 'utf8')}`.replace(
        '    health: { path: /health, expect: { status: 200, json: { status: ok } } }',
        '    env: { ADMIN_PASSWORD: "${ADMIN_PASSWORD}", API_TOKEN: "${API_TOKEN}" }\n' +
          '    health: { path: /health, expect: { status: 200, json: { status: ok } } }',
      );
      await fs.writeFile(yml, text);
      const out: string[] = [];
      for (const args of [['init'], ['deploy', '--auto-switch'], ['status'], ['rollback', '--force']]) {
        const r = await p.run(args, { env: { ADMIN_PASSWORD: password } });
        out.push(r.stdout + r.stderr);
        assert.equal(r.code, 0, `${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      }
      assert.ok(
        (await fs.readdir(path.join(p.dir, '.switchyard', 'nginx'))).some((n) => n.endsWith('.conf')),
        'nginx config rendered',
      );
      for (const s of [token, password]) assert.ok(!out.join('\n').includes(s), `printed: ${s}`);
      assert.deepEqual(await secretsInFiles(p.dir, [token, password]), []);
    } finally {
      await p.cleanup();
    }
  },
);
