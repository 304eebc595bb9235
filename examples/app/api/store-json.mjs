// The API's JSON store: users, login codes and tokens in one JSON file. Blue and green running on
// one machine share it when they point at the same file (STORE_PATH). The file is read on every
// operation (the other colour may have written since) and written through temp file + rename, so
// a reader never sees half a file. Same async interface as store-postgres.mjs.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** @param {string} file absolute path of the JSON file */
export function createJsonStore(file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });

  function load() {
    try {
      return { users: {}, codes: {}, tokens: {}, ...JSON.parse(fs.readFileSync(file, 'utf8')) };
    } catch (e) {
      if (e.code === 'ENOENT') return { users: {}, codes: {}, tokens: {} };
      throw e;
    }
  }
  function save(db) {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(db, null, 2), { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  return {
    kind: 'json',
    describe: () => `json ${file}`,
    /** Nothing to prepare: the file is created by the first write. */
    init: async () => {},
    /** 'connected' when the folder is readable and writable and the file (if any) parses. */
    status: async () => {
      try {
        fs.accessSync(path.dirname(file), fs.constants.R_OK | fs.constants.W_OK);
        load();
        return 'connected';
      } catch {
        return 'disconnected';
      }
    },
    /** Stores (replaces) the login code of an email (already lower-cased). */
    saveCode: async (email, code, expiresAt) => {
      const db = load();
      db.codes[email] = { code, expiresAt };
      save(db);
    },
    /**
     * Checks the code; when it is valid and unexpired: deletes it, creates the user if new, stores
     * `token` for them and returns the user. Otherwise returns undefined and changes nothing.
     */
    verify: async (email, code, token) => {
      const db = load();
      const entry = Object.hasOwn(db.codes, email) ? db.codes[email] : undefined;
      if (!entry || entry.expiresAt < Date.now() || code !== entry.code) return undefined;
      delete db.codes[email];
      db.users[email] ??= { email, createdAt: new Date().toISOString() };
      db.tokens[token] = { email, createdAt: new Date().toISOString() };
      save(db);
      return db.users[email];
    },
    /** The session of a token: `{ user }`, or undefined for an unknown token. */
    session: async (token) => {
      const db = load();
      if (!Object.hasOwn(db.tokens, token)) return undefined;
      return { user: db.users[db.tokens[token].email] };
    },
    close: async () => {},
  };
}
