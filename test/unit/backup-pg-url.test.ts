import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describePgUrl, parsePgUrl } from '../../src/backup/pg-host.ts';
import { diagnose } from '../../src/backup/pg-errors.ts';
import { restoreDbArg } from '../../src/backup/pg-sql.ts';
import { SwitchyardError } from '../../src/errors.ts';

describe('parsePgUrl', () => {
  test('user, decoded password, host, port, database and libpq parameters become PG* variables', () => {
    const p = parsePgUrl(
      'postgresql://ala%40corp:p%40ss%3Aw%2Frd%25@db.internal:6543/ala_production' +
        '?sslmode=require&application_name=deploys&connect_timeout=3',
    );
    assert.deepEqual(p.env, {
      PGHOST: 'db.internal',
      PGPORT: '6543',
      PGUSER: 'ala@corp',
      PGPASSWORD: 'p@ss:w/rd%',
      PGDATABASE: 'ala_production',
      PGSSLMODE: 'require',
      PGAPPNAME: 'deploys',
      PGCONNECT_TIMEOUT: '3',
    });
    assert.equal(
      describePgUrl('postgres://u:secret@db.internal:6543/ala_production'),
      'ala_production at db.internal:6543',
    );
  });
  test('defaults: no port, no database, IPv6 host, a socket folder as host parameter', () => {
    assert.deepEqual(parsePgUrl('postgres://u@[::1]/').env, {
      PGHOST: '::1',
      PGUSER: 'u',
      PGAPPNAME: 'switchyard',
      PGCONNECT_TIMEOUT: '10',
    });
    const sock = parsePgUrl('postgres:///app?host=%2Fvar%2Frun%2Fpostgresql');
    assert.equal(sock.env.PGHOST, '/var/run/postgresql');
    assert.equal(describePgUrl('postgres:///app?host=/var/run/postgresql'), 'app at socket /var/run/postgresql');
  });
  test('bad URLs are config errors that never echo the URL (it holds the password)', () => {
    for (const url of [
      'postgres://u:hunter2@h/db?sslmod=require',
      'postgres://u:hunter2%zz@h/db',
      'mysql://u:hunter2@h/db',
      'postgres://u:hunter2@h:notaport/db',
    ]) {
      const e = (() => {
        try {
          parsePgUrl(url);
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      assert.ok(e instanceof SwitchyardError, url);
      assert.equal(e.code, 'CONFIG_INVALID');
      assert.ok(!`${e.message} ${e.hint}`.includes('hunter2'), e.message);
      assert.ok(e.hint);
    }
  });
});

describe('diagnose', () => {
  test('libpq and server wording become plain messages', () => {
    const d = (stderr: string, code = 1) => diagnose('pg_dump', code, stderr).why;
    assert.equal(
      d('pg_dump: error: connection to server at "10.0.0.5", port 5432 failed: timeout expired\n'),
      'the database at 10.0.0.5:5432 did not answer in time (connection timeout)',
    );
    assert.equal(
      d('pg_dump: error: connection to server at "h" (10.1.1.1), port 5433 failed: Connection refused\n'),
      'nothing accepts connections at h:5433: is the database running?',
    );
    assert.equal(
      d('pg_dump: error: connection to server at "127.0.0.1", port 1 failed: FATAL:  database "shop" does not exist\n'),
      'database shop does not exist',
    );
    assert.equal(
      d('pg_dump: error: could not translate host name "dbx" to address: Name or service not known'),
      'unknown host dbx',
    );
    assert.equal(
      d('pg_dump: error: aborting because of server version mismatch'),
      'this pg_dump is older than the database server and cannot dump it',
    );
    assert.equal(d('', 137), 'pg_dump was killed by SIGKILL');
    assert.equal(d('something else', 2), 'pg_dump exited with code 2');
  });
});

describe('restoreDbArg', () => {
  test('a conninfo naming only the database, quoted', () => {
    assert.equal(restoreDbArg('app'), "dbname='app'");
    assert.equal(restoreDbArg("o'k\\x=y"), "dbname='o\\'k\\\\x=y'");
  });
});
