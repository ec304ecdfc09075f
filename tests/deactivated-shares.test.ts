import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { getRootFolder } from "~/domain/files/folders.server";
import { storageUsage } from "~/domain/files/quota.server";
import type { Services } from "~/services/index.server";
import { startTestApp, type TestApp } from "./support/app";
import { DRIVER_SETS, PASSWORD, type Person, registerPerson, uploadForm, createFolderIn } from "./support/people";
import { createUpload, createUploadRequest, openPatch, patchUpload, uploadOffset } from "./support/tus";
import { unzip } from "./support/zip";

/**
 * A deactivated account's user shares grant nothing (as if revoked: 404 everywhere) and work
 * again, unchanged, after reactivation. Search runs on the default PostgreSQL driver here.
 */
async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

describe.each(DRIVER_SETS)("a deactivated account's user shares ($label)", ({ drivers }) => {
  let app: TestApp;
  let services: Services;
  let admin: Person;
  /** Owns the shared items, and is deactivated. */
  let dora: Person;
  /** Holds WRITE on Dora's "Team" folder. */
  let fred: Person;
  /** Holds READ on Dora's single file "memo.txt". */
  let sam: Person;
  /** Shares her "Inbox" with Dora for writing (the reverse direction). */
  let olivia: Person;

  const ids = {} as {
    team: string;
    sub: string;
    plan: string;
    planVersion: string;
    deep: string;
    memo: string;
    fredRoot: string;
    fredOwn: string;
    inbox: string;
  };
  const plan = Buffer.from(`Quarterly plan ${randomBytes(8).toString("hex")}`);
  const deep = randomBytes(64 * 1024 + 3);
  const memo = Buffer.from("memo for Sam");

  /** Fred's tus upload into Team, half sent before the deactivation. */
  let teamUpload: { url: string; size: number; first: Buffer; rest: Buffer };
  /** Fred's tus upload into his own folder: deactivating Dora must not touch it. */
  let ownUpload: { url: string; size: number; first: Buffer; rest: Buffer };
  /** Dora's tus upload into Olivia's Inbox (reserving Olivia's storage). */
  let inboxUploadSize: number;

  const person = (name: string, email: string) => registerPerson(app, name, email);

  const setStatus = (who: Person, intent: "deactivate" | "reactivate") =>
    admin.client.postForm(`/admin/users/${who.id}/status`, { intent, proof: PASSWORD });

  async function fileId(ownerId: string, name: string): Promise<string> {
    return (await services.prisma.file.findFirstOrThrow({ where: { ownerId, name, trashedAt: null }, select: { id: true } })).id;
  }

  function halves(size: number) {
    const bytes = randomBytes(size);
    return { size, first: bytes.subarray(0, size / 2), rest: bytes.subarray(size / 2) };
  }

  beforeAll(async () => {
    app = await startTestApp(drivers, { MAX_UPLOAD_SIZE: "64MiB" });
    services = app.services;
    admin = await person("Ada Admin", "ada@example.com");
    dora = await person("Dora Departing", "dora@example.com");
    fred = await person("Fred Friend", "fred@example.com");
    sam = await person("Sam Single", "sam@example.com");
    olivia = await person("Olivia Other", "olivia@example.com");

    const doraRoot = (await getRootFolder(services, dora.id)).id;
    ids.team = await createFolderIn(dora.client, doraRoot, "Team");
    ids.sub = await createFolderIn(dora.client, ids.team, "Sub");
    // plan.txt replaced once, so it has an earlier version.
    expect((await uploadForm(dora.client, ids.team, "plan.txt", Buffer.from("first draft"))).status).toBe(200);
    expect((await uploadForm(dora.client, ids.team, "plan.txt", plan, "replace")).status).toBe(200);
    expect((await uploadForm(dora.client, ids.sub, "deep.bin", deep)).status).toBe(200);
    expect((await uploadForm(dora.client, doraRoot, "memo.txt", memo)).status).toBe(200);
    ids.plan = await fileId(dora.id, "plan.txt");
    ids.planVersion = (await services.prisma.fileVersion.findFirstOrThrow({ where: { fileId: ids.plan } })).id;
    ids.deep = await fileId(dora.id, "deep.bin");
    ids.memo = await fileId(dora.id, "memo.txt");
    expect(
      (await dora.client.postForm("/shares", { intent: "share-user", item: `folder:${ids.team}`, email: fred.email, permission: "WRITE" }))
        .status,
    ).toBe(200);
    expect((await dora.client.postForm("/shares", { intent: "share-user", item: `file:${ids.memo}`, email: sam.email })).status).toBe(200);

    ids.fredRoot = (await getRootFolder(services, fred.id)).id;
    expect((await uploadForm(fred.client, ids.fredRoot, "fred-own.txt", Buffer.from("Fred's own"))).status).toBe(200);
    ids.fredOwn = await fileId(fred.id, "fred-own.txt");

    const oliviaRoot = (await getRootFolder(services, olivia.id)).id;
    ids.inbox = await createFolderIn(olivia.client, oliviaRoot, "Inbox");
    expect(
      (
        await olivia.client.postForm("/shares", {
          intent: "share-user",
          item: `folder:${ids.inbox}`,
          email: dora.email,
          permission: "WRITE",
        })
      ).status,
    ).toBe(200);
  });

  it("before deactivation, grantees read and write what was shared (the baseline)", async () => {
    const shared = await (await fred.client.get("/shared")).text();
    expect(shared).toContain("Team");
    expect(shared).toContain("Dora Departing");
    expect((await fred.client.get(`/files/${ids.sub}`)).status).toBe(200);
    expect(await bytesOf(await fred.client.get(`/download/${ids.plan}`))).toEqual(plan);
    const search = await (await fred.client.get("/search?q=plan")).text();
    expect(search.slice(search.indexOf('data-testid="search-shared"'))).toContain(`href="/download/${ids.plan}"`);
    expect(await bytesOf(await sam.client.get(`/download/${ids.memo}`))).toEqual(memo);

    // Uploads under way: Fred's into Team, Fred's into his own folder, Dora's into Olivia's Inbox.
    teamUpload = { url: await createUpload(app, fred.client, { folderId: ids.team, name: "into-team.bin", size: 2000 }), ...halves(2000) };
    expect((await patchUpload(fred.client, teamUpload.url, 0, new Uint8Array(teamUpload.first))).status).toBe(204);
    ownUpload = { url: await createUpload(app, fred.client, { folderId: ids.fredRoot, name: "mine.bin", size: 3000 }), ...halves(3000) };
    expect((await patchUpload(fred.client, ownUpload.url, 0, new Uint8Array(ownUpload.first))).status).toBe(204);
    inboxUploadSize = 5000;
    const inboxUrl = await createUpload(app, dora.client, { folderId: ids.inbox, name: "for-olivia.bin", size: inboxUploadSize });
    expect((await patchUpload(dora.client, inboxUrl, 0, new Uint8Array(randomBytes(1000)))).status).toBe(204);
  });

  describe("while the owner is deactivated", () => {
    let before: { dora: number; olivia: number; fred: number };

    beforeAll(async () => {
      before = {
        dora: (await storageUsage(services, dora.id)).usedBytes,
        olivia: (await storageUsage(services, olivia.id)).usedBytes,
        fred: (await storageUsage(services, fred.id)).usedBytes,
      };
      const page = await (await admin.client.get(`/admin/users/${dora.id}/status`)).text();
      expect(page).toContain("What they shared with other people is hidden from those people");
      expect((await setStatus(dora, "deactivate")).status).toBe(302);
    });

    it("hides the shared items from Shared with me and search, keeping the share rows", async () => {
      for (const grantee of [fred, sam]) {
        const shared = await grantee.client.get("/shared");
        expect(shared.status).toBe(200);
        const html = await shared.text();
        expect(html).toContain("Nothing has been shared with you yet.");
        expect(html).not.toContain("Dora Departing");
      }
      for (const [grantee, query, id] of [
        [fred, "plan", ids.plan],
        [fred, "deep", ids.deep],
        [fred, "sub", ids.sub],
        [sam, "memo", ids.memo],
      ] as const) {
        const page = await grantee.client.get(`/search?q=${query}`);
        expect(page.status).toBe(200);
        const html = await page.text();
        expect(html).not.toContain('data-testid="search-shared"');
        expect(html).not.toContain(id);
      }
      expect(await services.prisma.userShare.count({ where: { ownerId: dora.id } })).toBe(2);
    });

    it("answers 404 to the grantees on every folder, file, download, preview, version and ZIP route", async () => {
      const reads = [
        `/files/${ids.team}`,
        `/files/${ids.sub}`,
        `/details/folder/${ids.team}`,
        `/details/folder/${ids.sub}`,
        `/details/file/${ids.plan}`,
        `/download/${ids.plan}`,
        `/download/${ids.deep}`,
        `/view/${ids.plan}`,
        `/thumbnail/${ids.plan}`,
        `/download/version/${ids.planVersion}`,
        `/bulk/zip?item=folder:${ids.team}`,
        `/bulk/zip?item=file:${ids.plan}`,
      ];
      for (const path of reads) expect((await fred.client.get(path)).status, path).toBe(404);
      for (const path of [`/download/${ids.memo}`, `/view/${ids.memo}`, `/details/file/${ids.memo}`, `/bulk/zip?item=file:${ids.memo}`]) {
        expect((await sam.client.get(path)).status, path).toBe(404);
      }
      // The 404 says what a revoked share says: nothing about the owner's account.
      const page = await (await fred.client.get(`/files/${ids.team}`)).text();
      expect(page).not.toContain("deactivated");
      // Administrators still see the account's files.
      expect(await bytesOf(await admin.client.get(`/download/${ids.plan}`))).toEqual(plan);
      expect((await admin.client.get(`/files/${ids.team}`)).status).toBe(200);
    });

    it("refuses every change inside the shared folder with 404, with and without JavaScript", async () => {
      const names = async () =>
        (await services.prisma.file.findMany({ where: { folderId: ids.team }, select: { name: true } })).map((f) => f.name).sort();
      const folders = () => services.prisma.folder.count({ where: { ownerId: dora.id } });
      const [namesBefore, foldersBefore] = [await names(), await folders()];

      expect((await uploadForm(fred.client, ids.team, "late.txt", Buffer.from("too late"))).status).toBe(404);
      expect((await fred.client.postForm(`/files/${ids.team}`, { intent: "create-folder", name: "Late" })).status).toBe(404);
      const path = await fred.client.request("/folders/path", {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ folderId: ids.team, path: "A/B/" }).toString(),
      });
      expect(path.status).toBe(404);
      expect((await createUploadRequest(app, fred.client, { folderId: ids.sub, name: "late.bin", size: 10 })).status).toBe(404);
      expect((await fred.client.postForm(`/details/file/${ids.plan}`, { intent: "rename", name: "renamed.txt" })).status).toBe(404);
      expect((await fred.client.postForm(`/details/folder/${ids.sub}`, { intent: "rename", name: "Renamed" })).status).toBe(404);
      expect((await fred.client.postForm(`/details/file/${ids.plan}`, { intent: "move", destination: ids.fredRoot })).status).toBe(404);
      expect((await fred.client.postForm(`/details/file/${ids.plan}`, { intent: "copy", destination: ids.fredRoot })).status).toBe(404);
      expect((await fred.client.postForm(`/details/file/${ids.fredOwn}`, { intent: "move", destination: ids.team })).status).toBe(404);
      expect((await fred.client.postForm(`/details/file/${ids.plan}`, { intent: "trash" })).status).toBe(404);
      expect((await fred.client.postForm(`/details/folder/${ids.sub}`, { intent: "trash" })).status).toBe(404);
      // Bulk actions report each item as not found and change nothing.
      const bulk = await fred.client.postForm("/bulk", { intent: "trash", item: `file:${ids.deep}`, respond: "inline" });
      expect(bulk.status).toBe(200);

      expect(await names()).toEqual(namesBefore);
      expect(await folders()).toBe(foldersBefore);
      expect((await services.prisma.file.findUniqueOrThrow({ where: { id: ids.deep } })).trashedAt).toBeNull();
      expect((await services.prisma.file.findUniqueOrThrow({ where: { id: ids.fredOwn } })).folderId).toBe(ids.fredRoot);
      expect(await services.prisma.file.count({ where: { ownerId: fred.id } })).toBe(1);
    });

    it("refuses the next PATCH of an upload created into the folder, keeping it and the uploader's other uploads", async () => {
      const refused = await patchUpload(fred.client, teamUpload.url, teamUpload.size / 2, new Uint8Array(teamUpload.rest));
      expect(refused.status).toBe(404);
      expect(await refused.text()).toContain("no longer shared with you");
      expect(await uploadOffset(fred.client, teamUpload.url)).toBe(teamUpload.size / 2);
      expect(await services.prisma.upload.count({ where: { ownerId: fred.id } })).toBe(2);
      expect(await services.prisma.file.count({ where: { name: "into-team.bin" } })).toBe(0);

      // Fred's upload into his own folder goes on.
      expect((await patchUpload(fred.client, ownUpload.url, ownUpload.size / 2, new Uint8Array(ownUpload.rest))).status).toBe(204);
      const mine = await services.prisma.file.findFirstOrThrow({ where: { ownerId: fred.id, name: "mine.bin" } });
      expect(mine.folderId).toBe(ids.fredRoot);
      expect(await bytesOf(await fred.client.get(`/download/${mine.id}`))).toEqual(Buffer.concat([ownUpload.first, ownUpload.rest]));
    });

    it("keeps storage accounting as it was: the refused upload stays charged to the folder owner, nobody else", async () => {
      expect((await storageUsage(services, dora.id)).usedBytes).toBe(before.dora);
      // Fred's own upload became a file: its reservation turned into the file's bytes.
      expect((await storageUsage(services, fred.id)).usedBytes).toBe(before.fred);
      // Dora's unfinished upload into Olivia's Inbox still reserves Olivia's storage (it resumes on reactivation).
      expect((await storageUsage(services, olivia.id)).usedBytes).toBe(before.olivia);
      expect(before.olivia).toBe(inboxUploadSize);
      // Olivia's folder, shared with the deactivated Dora, is hers as before; the admin overview lists everyone.
      expect((await olivia.client.get(`/files/${ids.inbox}`)).status).toBe(200);
      expect(await (await olivia.client.get(`/shares?item=folder:${ids.inbox}`)).text()).toContain(dora.email);
      const overview = await (await admin.client.get("/admin/users")).text();
      for (const who of [dora, fred, sam, olivia]) expect(overview).toContain(who.email);
      expect(overview).toMatch(/data-testid="deactivated"[^>]*>Deactivated since/);
    });
  });

  describe("after reactivation", () => {
    beforeAll(async () => {
      expect((await setStatus(dora, "reactivate")).status).toBe(302);
    });

    it("shows the shares again, unchanged, in Shared with me and search", async () => {
      const shared = await (await fred.client.get("/shared")).text();
      expect(shared).toContain("Team");
      expect(shared).toContain("Can view and add files");
      expect(await (await sam.client.get("/shared")).text()).toContain("memo.txt");
      const search = await (await fred.client.get("/search?q=deep")).text();
      expect(search.slice(search.indexOf('data-testid="search-shared"'))).toContain(`href="/download/${ids.deep}"`);
      const samSearch = await (await sam.client.get("/search?q=memo")).text();
      expect(samSearch.slice(samSearch.indexOf('data-testid="search-shared"'))).toContain(`href="/download/${ids.memo}"`);
    });

    it("serves every read route again with the exact bytes", async () => {
      for (const path of [
        `/files/${ids.team}`,
        `/files/${ids.sub}`,
        `/details/folder/${ids.team}`,
        `/details/file/${ids.plan}`,
        `/view/${ids.plan}`,
      ]) {
        expect((await fred.client.get(path)).status, path).toBe(200);
      }
      expect(await bytesOf(await fred.client.get(`/download/${ids.plan}`))).toEqual(plan);
      expect(await bytesOf(await fred.client.get(`/download/${ids.deep}`))).toEqual(deep);
      expect((await bytesOf(await fred.client.get(`/download/version/${ids.planVersion}`))).toString()).toBe("first draft");
      const zip = await fred.client.get(`/bulk/zip?item=folder:${ids.team}`);
      expect(zip.status).toBe(200);
      const entries = await unzip(await bytesOf(zip));
      expect(entries.get("Team/plan.txt")).toEqual(plan);
      expect(entries.get("Team/Sub/deep.bin")).toEqual(deep);
      expect(await bytesOf(await sam.client.get(`/download/${ids.memo}`))).toEqual(memo);
    });

    it("takes writes again, and the refused upload resumes where it stopped", async () => {
      expect((await patchUpload(fred.client, teamUpload.url, teamUpload.size / 2, new Uint8Array(teamUpload.rest))).status).toBe(204);
      const landed = await services.prisma.file.findFirstOrThrow({ where: { name: "into-team.bin" } });
      expect(landed).toMatchObject({ ownerId: dora.id, folderId: ids.team });
      expect(await bytesOf(await fred.client.get(`/download/${landed.id}`))).toEqual(Buffer.concat([teamUpload.first, teamUpload.rest]));

      expect((await uploadForm(fred.client, ids.team, "back.txt", Buffer.from("back again"))).status).toBe(200);
      expect((await fred.client.postForm(`/files/${ids.team}`, { intent: "create-folder", name: "Back" })).status).toBe(200);
      expect((await fred.client.postForm(`/details/file/${ids.plan}`, { intent: "rename", name: "plan-v2.txt" })).status).toBe(302);
      expect((await services.prisma.file.findUniqueOrThrow({ where: { id: ids.plan } })).name).toBe("plan-v2.txt");
    });
  });

  describe("the same rule for a share revoked or made read-only during an upload", () => {
    it("refuses the next PATCH, and lets the upload resume once write access is back", async () => {
      // Deactivation ended Dora's sessions.
      expect((await dora.client.login(dora.email)).status).toBe(302);
      const upload = { url: await createUpload(app, fred.client, { folderId: ids.sub, name: "revoked.bin", size: 1000 }), ...halves(1000) };
      expect((await patchUpload(fred.client, upload.url, 0, new Uint8Array(upload.first))).status).toBe(204);
      const grant = (permission: "READ" | "WRITE") =>
        dora.client.postForm("/shares", { intent: "share-user", item: `folder:${ids.team}`, email: fred.email, permission });

      expect((await grant("READ")).status).toBe(200);
      // Fred still sees the folder, so he is told why, as on the other write paths.
      const readOnly = await patchUpload(fred.client, upload.url, 500, new Uint8Array(upload.rest));
      expect(readOnly.status).toBe(403);
      expect(await readOnly.text()).toBe(
        "You can view this folder but not change it: it was shared with you read-only. Nothing more was saved.",
      );
      expect(await uploadOffset(fred.client, upload.url)).toBe(500);
      const share = await services.prisma.userShare.findFirstOrThrow({ where: { folderId: ids.team, granteeId: fred.id } });
      expect((await dora.client.postForm("/shares", { intent: "remove-user-share", shareId: share.id })).status).toBe(200);
      expect((await patchUpload(fred.client, upload.url, 500, new Uint8Array(upload.rest))).status).toBe(404);
      expect(await uploadOffset(fred.client, upload.url)).toBe(500);

      expect((await grant("WRITE")).status).toBe(200);
      expect((await patchUpload(fred.client, upload.url, 500, new Uint8Array(upload.rest))).status).toBe(204);
      const landed = await services.prisma.file.findFirstOrThrow({ where: { name: "revoked.bin" } });
      expect(landed).toMatchObject({ ownerId: dora.id, folderId: ids.sub });
    });
  });

  describe("an upload sending bytes into the folder at deactivation", () => {
    it("stops, is refused at its next PATCH, and resumes after reactivation", async () => {
      const size = 8 * 1024 * 1024;
      const url = await createUpload(app, fred.client, { folderId: ids.team, name: "stream.bin", size });
      const sending = openPatch(fred.client, url);
      sending.send(new Uint8Array(randomBytes(6 * 1024 * 1024)));
      // Let the bytes reach the store while the request stays open.
      await sleep(1500);

      expect((await setStatus(dora, "deactivate")).status).toBe(302);
      sending.end(new Uint8Array(randomBytes(1024 * 1024)));
      expect([204, "connection closed"]).toContain(await sending.outcome);
      const stopped = await uploadOffset(fred.client, url);
      expect(stopped).toBeLessThanOrEqual(6 * 1024 * 1024);
      expect((await patchUpload(fred.client, url, stopped, new Uint8Array(randomBytes(10)))).status).toBe(404);
      expect(await uploadOffset(fred.client, url)).toBe(stopped);
      expect(await services.prisma.file.count({ where: { name: "stream.bin" } })).toBe(0);

      expect((await setStatus(dora, "reactivate")).status).toBe(302);
      const rest = await patchUpload(fred.client, url, stopped, new Uint8Array(randomBytes(size - stopped)));
      expect(rest.status).toBe(204);
      expect(
        await services.prisma.file.count({ where: { ownerId: dora.id, folderId: ids.team, name: "stream.bin", size: BigInt(size) } }),
      ).toBe(1);
    });
  });
});
