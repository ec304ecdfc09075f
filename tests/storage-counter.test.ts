import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { copyItem } from "~/domain/files/copy.server";
import { moveItem } from "~/domain/files/rename-move.server";
import { reconcileStorageUsed } from "~/domain/files/quota.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { deleteForever, emptyTrash, purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { restoreItem, trashItem } from "~/domain/files/trash.server";
import { shareWithUser } from "~/domain/sharing/user-shares.server";
import { restoreVersion } from "~/domain/files/versions.server";
import { startJobs } from "~/domain/jobs/jobs.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { DRIVER_SETS, PASSWORD, putFile, registerPerson, uploadForm, type Person } from "./support/people";
import { createUpload, patchUpload } from "./support/tus";

type Usage = Map<string, { counter: bigint; actual: bigint }>;

/** Every account's storage counter beside what the quota summed before there was a counter. */
async function usageByAccount(services: Services): Promise<Usage> {
  const rows = await services.prisma.$queryRaw<Array<{ id: string; counter: bigint; actual: bigint }>>`
    SELECT u.id, u.storage_used AS counter,
      COALESCE((SELECT SUM(size) FROM files WHERE owner_id = u.id), 0)
    + COALESCE((SELECT SUM(v.size) FROM file_versions v JOIN files f ON f.id = v.file_id WHERE f.owner_id = u.id), 0) AS actual
    FROM users u`;
  return new Map(rows.map(({ id, counter, actual }) => [id, { counter: BigInt(counter), actual: BigInt(actual) }]));
}

/**
 * The storage counter (users.storage_used) against the SUM over files and versions it replaces,
 * after each kind of change of stored bytes: it must match after every step, and each step must
 * really change someone's usage (or, for the trash, really not).
 */
describe.each(DRIVER_SETS)("the storage counter ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let admin: Person;
  let olive: Person;
  let gus: Person;
  let dora: Person;
  const as = (person: Person) => ({ id: person.id, role: "USER" as const });
  const ids: Record<string, string> = {};

  const fileId = async (ownerId: string, name: string) =>
    (await services.prisma.file.findFirstOrThrow({ where: { ownerId, name }, select: { id: true } })).id;

  async function tusUpload(client: TestClient, name: string, size: number, folderId?: string) {
    const url = await createUpload(app, client, { name, size, folderId });
    const patched = await patchUpload(client, url, 0, new Uint8Array(randomBytes(size)));
    expect(patched.status, await patched.clone().text()).toBe(204);
  }

  async function form(client: TestClient, folderId: string, name: string, size: number, onConflict?: string) {
    const response = await uploadForm(client, folderId, name, randomBytes(size), onConflict);
    expect(response.status, await response.clone().text()).toBeLessThan(400);
  }

  beforeAll(async () => {
    app = await startTestApp(drivers, { MAX_UPLOAD_SIZE: "20MiB" });
    // Deleting erases at once here; the grace period before a purge is tests/lifecycle.test.ts's.
    await updateSettings(app.services, { deletedAccountRetentionDays: 0 });
    services = app.services;
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
    olive = await registerPerson(app, "Olive Owner", "olive@example.com");
    gus = await registerPerson(app, "Gus Guest", "gus@example.com");
    dora = await registerPerson(app, "Dora Departing", "dora@example.com");
    ids.oliveRoot = (await getRootFolder(services, olive.id)).id;
    ids.docs = (await createFolder(services, as(olive), ids.oliveRoot, "Docs")).id;
    ids.shared = (await createFolder(services, as(olive), ids.oliveRoot, "Shared")).id;
    await shareWithUser(services, as(olive), { kind: "folder", id: ids.shared }, { email: gus.email, permission: "WRITE" }, SYSTEM_ACTOR);
    ids.gusRoot = (await getRootFolder(services, gus.id)).id;
    ids.doraRoot = (await getRootFolder(services, dora.id)).id;
  });

  const steps: Array<{ change: string; run: () => Promise<unknown>; changesUsage?: false }> = [
    { change: "tus upload (POST + PATCH)", run: () => tusUpload(olive.client, "tus.bin", 3000) },
    { change: "form upload", run: () => form(olive.client, ids.docs, "report.txt", 2000) },
    {
      change: "form upload replacing a file (its content becomes a version)",
      run: () => form(olive.client, ids.docs, "report.txt", 2500, "replace"),
    },
    {
      // The total stays: the version's content and the current one trade places.
      change: "restoring a version",
      run: async () => {
        const version = await services.prisma.fileVersion.findFirstOrThrow({ where: { file: { ownerId: olive.id, name: "report.txt" } } });
        await restoreVersion(services, as(olive), version.id);
      },
      changesUsage: false,
    },
    {
      change: "versions pruned past the setting",
      run: async () => {
        await updateSettings(services, { versionsKept: 0 });
        await form(olive.client, ids.docs, "report.txt", 100, "replace");
        await updateSettings(services, { versionsKept: 10 });
      },
    },
    {
      change: "tus upload by a grantee into a shared folder (charged to its owner)",
      run: () => tusUpload(gus.client, "from-gus.bin", 1500, ids.shared),
    },
    { change: "form upload by a grantee into a shared folder", run: () => form(gus.client, ids.shared, "gus-form.txt", 700) },
    {
      change: "upload through a file-drop link",
      run: async () => {
        const created = await olive.client.postForm("/shares", { intent: "create-link", item: `folder:${ids.shared}`, mode: "DROP" });
        const token = /\/s\/([A-Za-z0-9_-]{20,})/.exec(await created.text())?.[1];
        expect(token).toBeTruthy();
        const body = new FormData();
        body.append("file", new Blob([new Uint8Array(randomBytes(900))], { type: "text/plain" }), "dropped.txt");
        expect((await new TestClient(app.url).postMultipart(`/s/${token}`, body)).status).toBe(200);
      },
    },
    { change: "copy of a file", run: async () => copyItem(services, as(olive), "file", await fileId(olive.id, "tus.bin"), ids.docs) },
    { change: "copy of a folder with its files", run: () => copyItem(services, as(olive), "folder", ids.docs, ids.oliveRoot, "keep-both") },
    {
      change: "a grantee's copy into a shared folder (charged to the folder's owner)",
      run: async () => {
        const own = await putFile(services, gus.id, ids.gusRoot, "gus-own.txt", randomBytes(1200));
        await copyItem(services, as(gus), "file", own.id, ids.shared);
      },
    },
    {
      change: "move replacing a file (the moved file's versions go along)",
      run: async () => {
        const copied = await services.prisma.file.findFirstOrThrow({
          where: { ownerId: olive.id, name: "report.txt", folderId: { not: ids.docs } },
        });
        await form(olive.client, copied.folderId, "report.txt", 300, "replace");
        await moveItem(services, as(olive), "file", copied.id, ids.docs, "replace");
      },
    },
    {
      change: "moving to the trash (the trash still counts)",
      run: async () => trashItem(services, as(olive), "file", await fileId(olive.id, "tus.bin")),
      changesUsage: false,
    },
    {
      change: "restoring from the trash",
      run: async () => restoreItem(services, as(olive), "file", await fileId(olive.id, "tus.bin")),
      changesUsage: false,
    },
    {
      change: "deleting a file forever",
      run: async () => {
        const id = await fileId(olive.id, "tus.bin");
        await trashItem(services, as(olive), "file", id);
        await deleteForever(services, as(olive), "file", id, SYSTEM_ACTOR);
      },
    },
    {
      change: "deleting a folder forever (its files and their versions go with it)",
      run: async () => {
        await trashItem(services, as(olive), "folder", ids.docs);
        await deleteForever(services, as(olive), "folder", ids.docs, SYSTEM_ACTOR);
      },
    },
    {
      change: "emptying the trash",
      run: async () => {
        await trashItem(services, as(olive), "file", await fileId(olive.id, "gus-form.txt"));
        await emptyTrash(services, as(olive), SYSTEM_ACTOR);
      },
    },
    {
      change: "trash expiring (the hourly purge)",
      run: async () => {
        await trashItem(services, as(olive), "file", await fileId(olive.id, "dropped.txt"));
        await purgeExpiredTrash(services, new Date(Date.now() + 365 * 24 * 3600 * 1000));
      },
    },
    {
      change: "an account deleted with its files given to someone",
      run: async () => {
        await putFile(services, dora.id, ids.doraRoot, "kept.txt", randomBytes(800));
        await form(dora.client, ids.doraRoot, "kept.txt", 400, "replace");
        const response = await admin.client.postForm(`/admin/users/${dora.id}/delete`, {
          confirmEmail: dora.email,
          proof: PASSWORD,
          files: `give:${olive.id}`,
        });
        expect(response.status).toBe(302);
      },
    },
    {
      change: "an account deleted with its files",
      run: async () => {
        const response = await admin.client.postForm(`/admin/users/${gus.id}/delete`, {
          confirmEmail: gus.email,
          proof: PASSWORD,
          files: "delete",
        });
        expect(response.status).toBe(302);
      },
    },
  ];

  it("equals the SUM of files and versions after every kind of change", async () => {
    let before = await usageByAccount(services);
    for (const step of steps) {
      await step.run();
      const after = await usageByAccount(services);
      for (const [id, { counter, actual }] of after) expect(counter, `${step.change}: account ${id}`).toBe(actual);
      const changed = [...before].some(([id, { actual }]) => after.get(id)?.actual !== actual);
      expect(changed, `${step.change} ${step.changesUsage === false ? "must not change" : "changes"} usage`).toBe(
        step.changesUsage !== false,
      );
      before = after;
    }
    expect(await services.prisma.user.count({ where: { id: { in: [dora.id, gus.id] } } })).toBe(0);
  });

  it("is corrected by the hourly reconciliation when it drifts, which logs the account id only", async () => {
    const actual = (await usageByAccount(services)).get(olive.id)!.actual;
    expect(actual).toBeGreaterThan(0n);
    await services.prisma.$executeRaw`UPDATE users SET storage_used = storage_used + 12345 WHERE id = ${olive.id}`;
    const warnings: Array<{ message: string; fields: unknown }> = [];
    const warn = services.log.warn;
    services.log.warn = (message: string, fields?: Record<string, unknown>) => void warnings.push({ message, fields });
    const stopJobs = startJobs(services, { firstRunDelayMs: 0 });
    try {
      await expect.poll(async () => (await usageByAccount(services)).get(olive.id)!.counter, { timeout: 10_000 }).toBe(actual);
    } finally {
      stopJobs();
      services.log.warn = warn;
    }
    const drifted = warnings.filter(({ message }) => message.includes("storage counter"));
    expect(drifted).toEqual([
      {
        message: "storage counter had drifted and was corrected",
        fields: { userId: olive.id, counted: Number(actual) + 12345, actual: Number(actual) },
      },
    ]);
    expect(JSON.stringify(warnings)).not.toContain("olive@");
    // Nothing left to correct: no account is touched again.
    expect(await reconcileStorageUsed(services)).toEqual({ corrected: 0 });
  });
});
