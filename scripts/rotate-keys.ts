/**
 * `npm run keys:rotate`: re-wraps every store key of encryption at rest with the current
 * ENCRYPTION_MASTER_KEY, reading the old wrappings with ENCRYPTION_PREVIOUS_MASTER_KEYS. Only the
 * database changes (objects name store keys, not master keys); safe to run again or after an
 * interruption. Afterwards the previous master keys can be removed from the configuration.
 */
import { ConfigError, loadConfig } from "../app/config.server";
import { recordAudit, type AuditActor } from "../app/domain/audit/audit.server";
import { createPrismaClient } from "../app/services/db.server";
import { startEmbeddedPostgres } from "../app/services/embedded-postgres.server";
import { rotateMasterKey } from "../app/services/storage/key-ring.server";

/** The command is run by whoever operates the server, not by a Coffer account. */
const OPERATOR: AuditActor = { actorId: null, actorLabel: "operator (npm run keys:rotate)", ip: null, userAgent: null };

async function main() {
  const config = loadConfig();
  if (!config.encryption) throw new ConfigError(["ENCRYPTION_MASTER_KEY: must be set to rotate to it"]);
  const embedded = config.database.embedded
    ? await startEmbeddedPostgres({ dataDir: config.database.dataDir, port: config.database.port })
    : null;
  const prisma = createPrismaClient(embedded ? embedded.url : (config.database as { url: string }).url);
  const masterKeyIds = config.encryption.masterKeys.map((k) => k.id);
  const audit = (outcome: "success" | "failure", details: Record<string, string | number>) =>
    recordAudit(prisma, OPERATOR, {
      action: "admin.encryption_key_rotated",
      outcome,
      details: { masterKey: masterKeyIds[0]!, ...details },
    });
  try {
    console.log(`Re-wrapping store keys with master key ${masterKeyIds[0]}`);
    const result = await rotateMasterKey(prisma, config.encryption.masterKeys, (line) => console.log(line)).catch(async (error) => {
      await audit("failure", { error: error instanceof Error ? error.message : String(error) }).catch(() => {});
      throw error;
    });
    await audit("success", { ...result });
    console.log(`Done: ${result.total} store key(s), ${result.rewrapped} re-wrapped, ${result.alreadyCurrent} already current.`);
    if (result.total > 0) console.log("ENCRYPTION_PREVIOUS_MASTER_KEYS can now be removed from the configuration.");
  } finally {
    await prisma.$disconnect();
    await embedded?.stop();
  }
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : `Rotation failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
