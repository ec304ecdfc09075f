import { ADMIN, BASE_URL } from "../support/env";
import { login, newAccount, register } from "../support/helpers";
import { test } from "../support/test";
import { addAndRemoveRule, placeAndReleaseUserHold, refuseBlankReason } from "./steps";

/** /admin/holds with JavaScript: a hold on a user placed and released, axe-clean throughout (see no-js.spec.ts). */
test("an admin places a legal hold on a user and releases it", async ({ browser }) => {
  // Three axe runs on a busy machine: twice the default limit.
  test.setTimeout(120_000);
  const held = newAccount("held");
  const userContext = await browser.newContext({ baseURL: BASE_URL });
  const adminContext = await browser.newContext({ baseURL: BASE_URL });
  try {
    await register(await userContext.newPage(), held);
    const admin = await adminContext.newPage();
    await login(admin, ADMIN);
    await refuseBlankReason(admin, held.email);
    await placeAndReleaseUserHold(admin, held.email, "JS");
    await addAndRemoveRule(admin, held.email, "JS");
  } finally {
    await userContext.close();
    await adminContext.close();
  }
});
