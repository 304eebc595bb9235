// The example's migration, run by switchyard's deploy hook (deploy.hooks.migrate in
// examples/docker/switchyard.yml) inside the new colour's api container, after it is healthy and
// before any traffic moves. Idempotent and additive (expand only), so the colour still serving
// keeps working: see "Migrations that keep both colours working" in the README.
// Exit 0 when the schema is in place; non-zero (and the reason) stops the deploy before the switch.
import { createPostgresStore } from './store-postgres.mjs';

const url = process.env.DATABASE_URL;
if (!url) {
  console.log('migrate: no DATABASE_URL, the JSON store needs no migration');
  process.exit(0);
}
const store = createPostgresStore(url);
try {
  await store.migrate();
  console.log(`migrate: schema ready on ${store.describe()} (users, login_codes, tokens)`);
} catch (e) {
  console.error(`migrate: failed on ${store.describe()}: ${e.message}`);
  process.exitCode = 1;
} finally {
  await store.close();
}
