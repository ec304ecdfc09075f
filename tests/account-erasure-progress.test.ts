import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finishErasing } from "~/domain/accounts/account-deletion.server";
import { updateSettings } from "~/domain/admin/settings.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { getRootFolder } from "~/domain/files/folders.server";
import type { Services } from "~/services/index.server";
import { TestClient } from "./support/client";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, PASSWORD, type Person, registerPerson } from "./support/people";

/**
 * The progress of erasing a large account (account-deletion.server.ts): the administrator who
 * deleted it is sent to /admin/users/:id/erasure, the person who deleted their own account to
 * /account-deleted?erasing=<operation>; both pages show how far it is, refreshing themselves
 * without JavaScript, and say when it is done. Its audit event counts what the batches deleted.
 */
describe("the progress of erasing a large account", () => {
  let app: TestApp;
  let services: Services;
  let admin: Person;

  beforeAll(async () => {
    app = await startTestApp(DRIVER_SETS[0]!.drivers);
    services = app.services;
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
    await updateSettings(services, { deletedAccountRetentionDays: 0 });
  });
  afterAll(() => app?.close());

  /** More rows than a request erases itself (2,000), seeded straight into the database. */
  async function largeAccount(name: string, email: string) {
    const person = await registerPerson(app, name, email);
    const root = (await getRootFolder(services, person.id)).id;
    await services.prisma.$executeRaw`
      INSERT INTO files (id, owner_id, folder_id, name, name_key, size, mime_type, storage_key, created_at, updated_at)
      SELECT ${person.id} || '-' || i, ${person.id}, ${root}, 'seed ' || i, 'seed ' || i, 10, 'text/plain', ${person.id} || '-key-' || i, now(), now()
      FROM generate_series(1, 2100) AS i`;
    return person;
  }
  async function gone(userId: string) {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (!(await services.prisma.user.findUnique({ where: { id: userId } }))) return true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return false;
  }
  const anonymous = () => new TestClient(app.url);

  it("sends the administrator to the erasure's page, which says when it is done", async () => {
    const bo = await largeAccount("Bo Big", "bo@example.com");
    const response = await admin.client.postForm(`/admin/users/${bo.id}/delete`, {
      confirmEmail: bo.email,
      proof: PASSWORD,
      files: "delete",
    });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`/admin/users/${bo.id}/erasure`);
    expect(await gone(bo.id)).toBe(true);
    const page = await admin.client.get(`/admin/users/${bo.id}/erasure`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("The account is erased");
    const [event] = await services.prisma.auditEvent.findMany({ where: { targetId: bo.id, action: "user.deleted" } });
    expect(event!.details).toMatchObject({ files: 2100, folders: 1, versions: 0, uploads: 0, byAdmin: true });
  }, 180_000);

  it("sends the person who deletes their own account to a page that needs no session", async () => {
    const cy = await largeAccount("Cy Big", "cy@example.com");
    const response = await cy.client.postForm("/settings/privacy", { intent: "delete", confirmEmail: cy.email, password: PASSWORD });
    expect(response.status).toBe(302);
    const location = response.headers.get("location")!;
    expect(location).toMatch(/^\/account-deleted\?erasing=[a-z0-9]+$/);
    expect(await gone(cy.id)).toBe(true);
    const page = await (await anonymous().get(location)).text();
    expect(page).toContain("Your account was deleted");
    expect(page).not.toMatch(/<meta http-equiv="refresh"/i);
  }, 180_000);

  it("shows an erasure under way on both pages, refreshing itself, then its end", async () => {
    const di = await registerPerson(app, "Di Halfway", "di@example.com");
    // An erasure whose job has not run yet: the account is closed, a third of its rows are gone.
    await services.prisma.user.update({ where: { id: di.id }, data: { deletedAt: new Date(), deactivatedAt: new Date() } });
    const operation = await services.prisma.bulkOperation.create({
      data: {
        ownerId: di.id,
        kind: "erase-account",
        cutoff: new Date(),
        total: 3000,
        done: 1000,
        auditActor: { ...SYSTEM_ACTOR },
        auditDetails: { action: "user.deleted", details: {} },
      },
    });

    const adminPage = await (await admin.client.get(`/admin/users/${di.id}/erasure`)).text();
    expect(adminPage).toContain("Erasing Di Halfway&#x27;s account");
    expect(adminPage).toContain("Erased 1,000 of 3,000 files and folders");
    expect(adminPage).toMatch(/<meta http-equiv="refresh"/i);
    const ownPage = await (await anonymous().get(`/account-deleted?erasing=${operation.id}`)).text();
    expect(ownPage).toContain("Your account is being deleted");
    expect(ownPage).toContain("Erased 1,000 of 3,000 files and folders");
    expect(ownPage).not.toContain("Di Halfway");
    // Only administrators see the administrator's page.
    expect((await anonymous().get(`/admin/users/${di.id}/erasure`)).status).toBe(302);

    await finishErasing(services, di.id);
    expect(await (await admin.client.get(`/admin/users/${di.id}/erasure`)).text()).toContain("The account is erased");
    expect(await (await anonymous().get(`/account-deleted?erasing=${operation.id}`)).text()).toContain("Your account was deleted");
  });

  it("says so when an account is not being erased, and ignores a malformed operation id", async () => {
    const ed = await registerPerson(app, "Ed Active", "ed@example.com");
    expect(await (await admin.client.get(`/admin/users/${ed.id}/erasure`)).text()).toContain(
      "Ed Active&#x27;s account is not being erased.",
    );
    const page = await anonymous().get("/account-deleted?erasing=%3Cscript%3E");
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Your account was deleted");
  });
});
