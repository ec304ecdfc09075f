/**
 * `npm run db:migrate`: applies pending SQL migrations to DATABASE_URL (or to the embedded
 * database in DATA_DIR) and records them in _prisma_migrations, like `prisma migrate deploy`.
 * Compiled into build/migrate.js for the image (the Kubernetes migration Job, Fly's release
 * command). `--external-only`: with no DATABASE_URL do nothing, since a release machine without
 * the data volume would migrate a throwaway embedded database; the server migrates it at start-up.
 */
import { ConfigError, loadConfig } from "../app/config.server";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { runMigrations } from "../app/services/migrate.server";

async function main() {
  const config = loadConfig();
  if (config.database.embedded && process.argv.includes("--external-only")) {
    console.log("No DATABASE_URL: the embedded database is migrated when the server starts.");
    return;
  }
  const embedded = config.database.embedded
    ? await startEmbeddedPostgres({ dataDir: config.database.dataDir, port: config.database.port })
    : null;
  try {
    const url = embedded ? embedded.url : (config.database as { url: string }).url;
    const applied = await runMigrations(url);
    console.log(applied.length === 0 ? "Database is up to date." : `Applied: ${applied.join(", ")}`);
  } finally {
    await embedded?.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : `Migration failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
