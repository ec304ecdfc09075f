import { describe, expect, it } from "vitest";
import { checkPassword, PASSWORD_MAX_LENGTH } from "~/domain/accounts/password-policy.server";

describe("password policy", () => {
  const owner = { name: "Ada Lovelace", email: "ada.l@example.com" };

  it("accepts a long passphrase unrelated to the account", () => {
    expect(checkPassword("violet tractor under moonlight", owner)).toBeNull();
    expect(checkPassword("x".repeat(PASSWORD_MAX_LENGTH - 3) + "q9!", owner)).toBeNull();
  });

  it("refuses passwords shorter than 12 or longer than 256 characters", () => {
    expect(checkPassword("short pass", owner)).toBe("Use at least 12 characters.");
    expect(checkPassword("y".repeat(PASSWORD_MAX_LENGTH + 1), owner)).toBe("Use at most 256 characters.");
  });

  it("refuses common and breached passwords, in any case and with digits or symbols around them", () => {
    for (const password of ["123qweasdzxc", "1q2w3e4r5t6y", "QAZWSXEDCRFV", "password123456", "Sunshine2024!!", "123456monkey"]) {
      expect(checkPassword(password, owner), password).toMatch(/list of common or breached passwords/);
    }
  });

  it("refuses a password containing a part of the name or the email's local part", () => {
    expect(checkPassword("lovelace-and-engines", owner)).toBe("The password must not contain your name or email address.");
    expect(checkPassword("my ADA analytical engine", owner)).toBe("The password must not contain your name or email address.");
    expect(checkPassword("trains ada.l every day", owner)).toBe("The password must not contain your name or email address.");
    // Name parts shorter than 3 characters are too common to refuse.
    expect(checkPassword("jo went to the lighthouse", { name: "Jo Li", email: "j@example.com" })).toBeNull();
  });
});
