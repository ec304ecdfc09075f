import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eraseAccount, isBeingErased, purgeDeletedAccounts } from "~/domain/accounts/account-deletion.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, putFile, registerPerson } from "./support/people";

/**
 * Erasing an account in batches (account-deletion.server.ts `eraseAccount`): its files and
 * folders go in short transactions before the user row, and an erasure interrupted between
 * batches is finished by the hourly purge, with one audit event, keeping everyone else's data.
 */
describe.each(DRIVER_SETS)("erasing an account in batches ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;

  beforeAll(async () => {
    app = await startTestApp(drivers);
    services = app.services;
    await updateSettings(services, { deletedAccountRetentionDays: 30 });
  });
  afterAll(() => app?.close());

  async function objectKeys(): Promise<Set<string>> {
    const keys = new Set<string>();
    for await (const object of services.storage.list()) keys.add(object.key);
    return keys;
  }

  /** An account with files in nested folders, more than one batch of each. */
  async function accountWithFiles(email: string) {
    const person = await registerPerson(app, email.split("@")[0]!, email);
    const root = (await getRootFolder(services, person.id)).id;
    const actor = { id: person.id, role: "USER" as const };
    const a = await createFolder(services, actor, root, "A");
    const b = await createFolder(services, actor, a.id, "B");
    const files = [];
    for (const [folder, i] of [root, root, a.id, a.id, b.id, b.id, b.id].map((f, i) => [f, i] as const)) {
      files.push(await putFile(services, person.id, folder, `f${i}.txt`, randomBytes(200)));
    }
    return { person, files };
  }

  it("erases files and folders batch by batch and records one audit event", async () => {
    const { person, files } = await accountWithFiles("erin@example.com");
    const other = await accountWithFiles("otto@example.com");
    const before = await services.prisma.auditEvent.count({ where: { targetId: person.id, action: "user.deleted" } });

    const result = await eraseAccount(services, person.id, { actor: SYSTEM_ACTOR }, { batchSize: 2 });
    expect(result.objectsDeleted).toBeGreaterThanOrEqual(files.length);
    expect(await services.prisma.user.findUnique({ where: { id: person.id } })).toBeNull();
    expect(await services.prisma.file.count({ where: { ownerId: person.id } })).toBe(0);
    expect(await services.prisma.folder.count({ where: { ownerId: person.id } })).toBe(0);
    const keys = await objectKeys();
    for (const file of files) expect(keys.has(file.storageKey)).toBe(false);
    for (const file of other.files) expect(keys.has(file.storageKey)).toBe(true);
    expect(await services.prisma.file.count({ where: { ownerId: other.person.id } })).toBe(other.files.length);
    expect(await services.prisma.auditEvent.findMany({ where: { targetId: person.id, action: "user.deleted" } })).toHaveLength(before + 1);
    const [event] = await services.prisma.auditEvent.findMany({ where: { targetId: person.id, action: "user.deleted" } });
    expect(event!.details).toMatchObject({ files: files.length, folders: 3 });
  });

  it("is finished by the purge after an interruption between batches, refused everywhere meanwhile", async () => {
    const { person, files } = await accountWithFiles("ivy@example.com");
    let batches = 0;
    const crash = async () => {
      if (++batches === 2) throw new Error("killed between batches");
    };
    await expect(eraseAccount(services, person.id, { actor: SYSTEM_ACTOR }, { batchSize: 2, afterBatch: crash })).rejects.toThrow(
      "killed between batches",
    );
    // Partly erased: refused everywhere, no row without its object, counters consistent.
    const user = await services.prisma.user.findUniqueOrThrow({ where: { id: person.id } });
    expect(user.deletedAt).not.toBeNull();
    expect(user.deactivatedAt).not.toBeNull();
    expect(await isBeingErased(services.prisma, person.id)).toBe(true);
    const left = await services.prisma.file.findMany({ where: { ownerId: person.id } });
    expect(left.length).toBe(files.length - 4);
    const keys = await objectKeys();
    for (const file of left) expect(keys.has(file.storageKey)).toBe(true);
    const [usage] = await services.prisma.$queryRaw<Array<{ counter: bigint; actual: bigint }>>`
      SELECT storage_used AS counter, COALESCE((SELECT SUM(size) FROM files WHERE owner_id = ${person.id}), 0) AS actual
      FROM users WHERE id = ${person.id}`;
    expect(BigInt(usage!.counter)).toBe(BigInt(usage!.actual));
    expect(await services.prisma.auditEvent.count({ where: { targetId: person.id, action: "user.deleted" } })).toBe(0);
    expect((await (await person.client.get("/files")).text()).includes("f0.txt")).toBe(false);

    // The grace period (30 days) is not over, yet the half-done erasure is finished.
    const purged = await purgeDeletedAccounts(services, new Date());
    expect(purged.accounts).toBeGreaterThanOrEqual(1);
    expect(await services.prisma.user.findUnique({ where: { id: person.id } })).toBeNull();
    const after = await objectKeys();
    for (const file of files) expect(after.has(file.storageKey)).toBe(false);
    expect(await services.prisma.auditEvent.count({ where: { targetId: person.id, action: "user.deleted" } })).toBe(1);
  });

  it("hands a large account to the background job, which erases it", async () => {
    const { person, files } = await accountWithFiles("jay@example.com");
    await eraseAccount(services, person.id, { actor: SYSTEM_ACTOR }, { inlineLimit: 3 });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await services.prisma.user.findUnique({ where: { id: person.id } }))) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await services.prisma.user.findUnique({ where: { id: person.id } })).toBeNull();
    const keys = await objectKeys();
    for (const file of files) expect(keys.has(file.storageKey)).toBe(false);
    expect(await services.prisma.auditEvent.count({ where: { targetId: person.id, action: "user.deleted" } })).toBe(1);
  });
});
