import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { registerPerson, uploadForm, type Person } from "./support/people";
import { createUpload, patchUpload } from "./support/tus";

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/** The screen-reader table of one chart: day → the cells of its row. */
function chartTable(html: string, id: string): Map<string, string[]> {
  const figure = html.slice(html.indexOf(`id="${id}-title"`));
  const table = figure.slice(figure.indexOf("<tbody>"), figure.indexOf("</tbody>"));
  const rows = new Map<string, string[]>();
  for (const row of table.matchAll(/<tr>(.*?)<\/tr>/g)) {
    const day = /<th scope="row">([^<]*)<\/th>/.exec(row[1])?.[1] ?? "";
    rows.set(
      day,
      [...row[1].matchAll(/<td>([^<]*)<\/td>/g)].map((cell) => cell[1]),
    );
  }
  return rows;
}

describe("admin analytics: daily usage charts from the rollup tables", () => {
  let app: TestApp;
  let admin: Person;
  let bob: Person;
  let bobRoot: string;

  beforeAll(async () => {
    app = await startTestApp({ storage: "local", cache: "memory" });
    admin = await registerPerson(app, "Ada Admin", "ada@example.com");
    bob = await registerPerson(app, "Bob Builder", "bob@example.com");
    bobRoot = (await app.services.prisma.folder.findFirstOrThrow({ where: { ownerId: bob.id, parentId: null } })).id;
  });

  it("counts uploads (form and tus), downloads, active people and stored bytes of today", async () => {
    expect((await uploadForm(bob.client, bobRoot, "notes.txt", randomBytes(1500))).status).toBeLessThan(400);
    const tusUrl = await createUpload(app, bob.client, { name: "photo.png", size: 2048, folderId: bobRoot });
    expect((await patchUpload(bob.client, tusUrl, 0, new Uint8Array(randomBytes(2048)))).status).toBe(204);
    const notes = await app.services.prisma.file.findFirstOrThrow({ where: { name: "notes.txt" } });
    const whole = await bob.client.get(`/download/${notes.id}`);
    expect(whole.status).toBe(200);
    await whole.arrayBuffer();
    // Resuming from byte 100 is the same download: its bytes count, the download does not again.
    const resumed = await bob.client.get(`/download/${notes.id}`, { range: "bytes=100-" });
    expect(resumed.status).toBe(206);
    await resumed.arrayBuffer();

    const page = await admin.client.get("/admin/analytics");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("<svg");
    expect(chartTable(html, "uploads").get(today())).toEqual(["2"]);
    expect(chartTable(html, "downloads").get(today())).toEqual(["1"]);
    expect(chartTable(html, "active-users").get(today())).toEqual(["2"]);
    expect(html).toContain("2 uploads (3.5 KiB) in the last 30 days.");
    expect(html).toContain("On the 1 day with activity, 2 people a day on average.");
    expect(html).toContain("1 download (2.8 KiB of single files) in the last 30 days. The busiest day was");
    const usage = await app.services.prisma.usageDaily.findMany({ where: { day: new Date(`${today()}T00:00:00Z`) } });
    const value = (metric: string, dimension = "") =>
      Number(usage.find((row) => row.metric === metric && row.dimension === dimension)?.value);
    expect(value("upload_bytes")).toBe(1500 + 2048);
    expect(value("download_bytes")).toBe(1500 + 1400);
    expect(value("stored_bytes")).toBe(1500 + 2048);
    expect(value("stored_bytes", "images")).toBe(2048);
    expect(value("stored_bytes", "documents")).toBe(1500);
    expect(chartTable(html, "by-type").get(today())).toEqual(["2.0 KiB", "0 B", "0 B", "1.5 KiB", "0 B", "0 B"]);
    expect(chartTable(html, "by-account").get(today())).toEqual(["3.5 KiB"]);
    expect(html).toContain("Bob Builder stores the most: 3.5 KiB.");

    // Viewing again adds nothing twice.
    const again = await (await admin.client.get("/admin/analytics")).text();
    expect(chartTable(again, "uploads").get(today())).toEqual(["2"]);
    expect(chartTable(again, "downloads").get(today())).toEqual(["1"]);
  });

  it("shows earlier days from the rollup, with gaps where storage was not measured, for the period chosen", async () => {
    await app.services.prisma.usageDaily.createMany({
      data: [
        { day: new Date(`${daysAgo(3)}T00:00:00Z`), metric: "uploads", value: 7n },
        { day: new Date(`${daysAgo(3)}T00:00:00Z`), metric: "stored_bytes", value: 1024n },
        { day: new Date(`${daysAgo(40)}T00:00:00Z`), metric: "uploads", value: 9n },
      ],
    });
    const month = await (await admin.client.get("/admin/analytics")).text();
    const uploads = chartTable(month, "uploads");
    expect(uploads.size).toBe(30);
    expect(uploads.get(daysAgo(3))).toEqual(["7"]);
    expect(uploads.get(daysAgo(2))).toEqual(["0"]);
    expect(uploads.has(daysAgo(40))).toBe(false);
    const stored = chartTable(month, "stored");
    expect(stored.get(daysAgo(3))).toEqual(["1.0 KiB"]);
    expect(stored.get(daysAgo(2))).toEqual(["not measured"]);
    expect(month).toContain("The busiest day was");

    const year = await admin.client.get("/admin/analytics?days=365");
    expect(year.status).toBe(200);
    const yearHtml = await year.text();
    expect(chartTable(yearHtml, "uploads").size).toBe(365);
    expect(chartTable(yearHtml, "uploads").get(daysAgo(40))).toEqual(["9"]);
    expect(yearHtml).toMatch(/aria-current="page"[^>]*>Last <!-- -->365<!-- --> days|aria-current="page"[^>]*>Last 365 days/);
  });

  it("is for administrators only, and refuses a period it does not offer with a 400", async () => {
    const asBob = await bob.client.get("/admin/analytics");
    expect(asBob.status).toBe(403);
    expect(await asBob.text()).not.toContain("Uploads per day");
    const anonymous = await new TestClient(app.url).get("/admin/analytics");
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.get("location")).toBe("/login?redirectTo=%2Fadmin%2Fanalytics");
    for (const query of ["?days=12", "?days=-1", `?days=${"9".repeat(400)}`, "?days=%00"]) {
      const response = await admin.client.get(`/admin/analytics${query}`);
      expect(response.status, query).toBe(400);
      expect(await response.text()).not.toMatch(/at \w+ \(/);
    }
  });

  it("keeps an account's daily figures only as long as the account", async () => {
    await admin.client.get("/admin/analytics");
    expect(await app.services.prisma.userUsageDaily.count({ where: { userId: bob.id } })).toBeGreaterThan(0);
    await app.services.prisma.user.delete({ where: { id: bob.id } });
    expect(await app.services.prisma.userUsageDaily.count({ where: { userId: bob.id } })).toBe(0);
  });
});
