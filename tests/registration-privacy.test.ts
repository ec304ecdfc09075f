import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./support/app";
import { TestClient } from "./support/client";
import { startMailbox } from "./support/mailbox";

/**
 * Registering an address that already has an account (issue 16): the answer does not say so,
 * nothing changes, nobody is signed in, and the owner is mailed (a real SMTP server here).
 */
describe("registering a taken email (local disk, memory cache, SMTP)", () => {
  let mailbox: Awaited<ReturnType<typeof startMailbox>>;
  let app: TestApp;

  beforeAll(async () => {
    mailbox = await startMailbox();
    app = await startTestApp({ storage: "local", cache: "memory" }, { SMTP_URL: mailbox.url, APP_URL: "http://coffer.test" });
  });
  afterAll(async () => {
    await app?.close();
    await mailbox?.close();
  });

  it("still signs a genuinely new user in; the first account is the administrator", async () => {
    const client = new TestClient(app.url);
    const response = await client.register("Olga Owner", "olga@example.com");
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/files");
    expect(client.cookies.has("coffer_session")).toBe(true);
    expect((await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olga@example.com" } })).role).toBe("ADMIN");
  });

  it("answers “check your email”, changes nothing, signs nobody in and mails the owner", async () => {
    const before = await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olga@example.com" } });
    const sessions = await app.services.prisma.session.count();
    const mails = mailbox.mails.length;
    const client = new TestClient(app.url);
    const response = await client.postForm("/register", {
      name: "Mallory",
      email: " OLGA@example.com ",
      password: "another long enough password",
    });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/register?check=1");
    expect(client.cookies.has("coffer_session")).toBe(false);
    expect(await app.services.prisma.session.count()).toBe(sessions);
    expect(await app.services.prisma.user.findUniqueOrThrow({ where: { email: "olga@example.com" } })).toEqual(before);
    expect(await app.services.prisma.user.count()).toBe(1);

    const page = await (await client.get("/register?check=1")).text();
    const main = /<main[\s\S]*<\/main>/.exec(page)![0];
    expect(main).toContain("Check your email");
    expect(main).not.toMatch(/already (exists|has|registered)|is taken|in use/i);

    const mail = await mailbox.next("olga@example.com", mails);
    expect(mail.subject).toBe("Someone tried to create a Coffer account with your address");
    expect(mail.text).toContain("Hello Olga Owner,");
    expect(mail.text).toContain("http://coffer.test/login");
    expect(mail.text).toContain("http://coffer.test/forgot-password");
    expect(mail.text).not.toContain("another long enough password");
    const audit = await app.services.prisma.auditEvent.findFirstOrThrow({ where: { action: "user.registered", outcome: "failure" } });
    expect(audit).toMatchObject({ targetId: before.id, actorId: null });
  });

  it("keeps the session of a signed-in browser that registers a taken address", async () => {
    const client = new TestClient(app.url);
    await client.register("Pia", "pia@example.com");
    const mails = mailbox.mails.length;
    const cookie = client.cookies.get("coffer_session");
    const response = await client.postForm("/register", {
      name: "Pia Again",
      email: "olga@example.com",
      password: "yet another long password",
    });
    expect(response.headers.get("location")).toBe("/register?check=1");
    expect(client.cookies.get("coffer_session")).toBe(cookie);
    expect((await client.get("/register?check=1")).status).toBe(200);
    expect((await client.get("/files")).status).toBe(200);
    await mailbox.next("olga@example.com", mails);
  });

  it("mails one address at most three times an hour; further attempts get the same answer and no mail", async () => {
    const client = new TestClient(app.url);
    const attempt = () =>
      client.postForm("/register", { name: "Mallory Two", email: "olga@example.com", password: "a third long enough password" });
    const toOlga = () => mailbox.mails.filter((mail) => mail.to && !Array.isArray(mail.to) && mail.to.text === "olga@example.com").length;
    // Two notices went out above; one more is allowed.
    expect(toOlga()).toBe(2);
    const mails = mailbox.mails.length;
    expect((await attempt()).headers.get("location")).toBe("/register?check=1");
    await mailbox.next("olga@example.com", mails);
    expect((await attempt()).headers.get("location")).toBe("/register?check=1");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(toOlga()).toBe(3);
  });
});
