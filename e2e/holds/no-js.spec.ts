import { test } from "@playwright/test";
import { ADMIN, BASE_URL } from "../support/env";
import { login, newAccount, register } from "../support/helpers";
import { addAndRemoveRule, placeAndReleaseUserHold, refuseBlankReason } from "./steps";

/**
 * /admin/holds with plain forms only (JavaScript disabled): the same steps as js.spec.ts, whose axe
 * runs check the same server-rendered states.
 */
test("an admin places a legal hold on a user and releases it, without JavaScript", async ({ browser }) => {
  const held = newAccount("heldnojs");
  const userContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  const adminContext = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  try {
    await register(await userContext.newPage(), held);
    const admin = await adminContext.newPage();
    await login(admin, ADMIN);
    await refuseBlankReason(admin, held.email);
    await placeAndReleaseUserHold(admin, held.email, "no JavaScript", false);
    await addAndRemoveRule(admin, held.email, "no JavaScript", false);
  } finally {
    await userContext.close();
    await adminContext.close();
  }
});
