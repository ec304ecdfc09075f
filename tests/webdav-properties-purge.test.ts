import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eraseAccount } from "~/domain/accounts/account-deletion.server";
import { deleteUserByAdmin } from "~/domain/admin/admin-users.server";
import { SYSTEM_ACTOR } from "~/domain/audit/audit.server";
import { createFolder, getRootFolder } from "~/domain/files/folders.server";
import { moveItem } from "~/domain/files/rename-move.server";
import { deleteForever, emptyTrash, purgeExpiredTrash } from "~/domain/files/trash-purge.server";
import { trashItem } from "~/domain/files/trash.server";
import { changeDeadProperties } from "~/domain/webdav/properties.server";
import { startTestApp, type TestApp } from "./support/app";
import { PASSWORD, type Person, putFile, registerPerson } from "./support/people";

/**
 * WebDAV dead properties (PROPPATCH) are keyed by item id with no foreign key to the item (files
 * and folders share the column), so every way of deleting items for good removes them in the
 * same transaction: deleting from the trash, emptying it, the retention purge, replacing a file
 * by moving another over it, and erasing an account. Items handed to another account keep them.
 */
describe("WebDAV properties of items deleted for good", () => {
  let app: TestApp;
  let admin: Person;
  let ada: Person;

  const actorOf = (person: Person) => ({ id: person.id, role: "USER" as const });
  const setProperty = async (person: Person, itemId: string) =>
    expect(
      await changeDeadProperties(app.services, person.id, itemId, [
        { op: "set", property: { namespace: "urn:test", name: "colour", value: "red" } },
      ]),
    ).toBe(true);
  const propertiesOf = (ids: string[]) => app.services.prisma.webdavProperty.count({ where: { itemId: { in: ids } } });
  /** A folder with a file in it and a file beside it, each with a property. */
  const scene = async (person: Person, label: string) => {
    const root = await getRootFolder(app.services, person.id);
    const folder = await createFolder(app.services, actorOf(person), root.id, `${label} folder`);
    const inner = await putFile(app.services, person.id, folder.id, `${label} inner.txt`, randomBytes(50));
    const loose = await putFile(app.services, person.id, root.id, `${label} loose.txt`, randomBytes(50));
    const ids = [folder.id, inner.id, loose.id];
    for (const id of ids) await setProperty(person, id);
    expect(await propertiesOf(ids)).toBe(3);
    return { root, folder, inner, loose, ids };
  };

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = await registerPerson(app, "Ada Admin", "admin-props@example.com");
    ada = await registerPerson(app, "Ada", "ada-props@example.com");
  });

  afterAll(async () => {
    await app?.close();
  });

  it("deleting a trashed folder for good removes its and its contents' properties, and no one else's", async () => {
    const { folder, inner, loose } = await scene(ada, "forever");
    await trashItem(app.services, actorOf(ada), "folder", folder.id);
    await deleteForever(app.services, actorOf(ada), "folder", folder.id, SYSTEM_ACTOR);
    expect(await propertiesOf([folder.id, inner.id])).toBe(0);
    expect(await propertiesOf([loose.id])).toBe(1);
  });

  it("emptying the trash and the retention purge remove the properties of what they delete", async () => {
    const emptied = await scene(ada, "emptied");
    await trashItem(app.services, actorOf(ada), "folder", emptied.folder.id);
    await trashItem(app.services, actorOf(ada), "file", emptied.loose.id);
    await emptyTrash(app.services, actorOf(ada), SYSTEM_ACTOR);
    expect(await propertiesOf(emptied.ids)).toBe(0);

    const expired = await scene(ada, "expired");
    await trashItem(app.services, actorOf(ada), "folder", expired.folder.id);
    await purgeExpiredTrash(app.services, new Date(Date.now() + 3650 * 24 * 3600 * 1000));
    expect(await propertiesOf([expired.folder.id, expired.inner.id])).toBe(0);
    expect(await propertiesOf([expired.loose.id])).toBe(1);
  });

  it("a file moved over another keeps the target's id: the moved file's own properties go", async () => {
    const { folder, inner, loose } = await scene(ada, "replaced");
    const target = await putFile(app.services, ada.id, folder.id, "replaced loose.txt", randomBytes(10));
    await setProperty(ada, target.id);
    await moveItem(app.services, actorOf(ada), "file", loose.id, folder.id, "replace");
    expect(await app.services.prisma.file.count({ where: { id: loose.id } })).toBe(0);
    expect(await propertiesOf([loose.id])).toBe(0);
    expect(await propertiesOf([target.id, inner.id])).toBe(2);
  });

  it("erasing an account removes its items' properties; items handed to another account keep theirs", async () => {
    const erased = await registerPerson(app, "Eve", "eve-props@example.com");
    const { ids } = await scene(erased, "erased");
    await eraseAccount(app.services, erased.id, { actor: SYSTEM_ACTOR });
    expect(await app.services.prisma.user.count({ where: { id: erased.id } })).toBe(0);
    expect(await propertiesOf(ids)).toBe(0);

    const giver = await registerPerson(app, "Gil", "gil-props@example.com");
    const given = await scene(giver, "given");
    const trashed = await putFile(app.services, giver.id, given.root.id, "given trashed.txt", randomBytes(10));
    await setProperty(giver, trashed.id);
    await trashItem(app.services, actorOf(giver), "file", trashed.id);
    const adminUser = await app.services.prisma.user.findUniqueOrThrow({ where: { id: admin.id } });
    await deleteUserByAdmin(
      app.services,
      { ...adminUser, sessionId: "props-test" },
      giver.id,
      { confirmEmail: giver.email, proof: PASSWORD, files: `give:${ada.id}` },
      SYSTEM_ACTOR,
    );
    // The account is gone (at once or after its grace period, whichever the settings say).
    await eraseAccount(app.services, giver.id, { actor: SYSTEM_ACTOR }).catch(() => undefined);
    expect(await app.services.prisma.user.count({ where: { id: giver.id } })).toBe(0);
    const kept = await app.services.prisma.webdavProperty.findMany({ where: { itemId: { in: given.ids } } });
    expect(kept).toHaveLength(3);
    expect(kept.every((property) => property.ownerId === ada.id)).toBe(true);
    // What was in the trash was deleted with the account.
    expect(await propertiesOf([trashed.id])).toBe(0);
  });
});
