import { COSEALG } from "@simplewebauthn/server/helpers";
import { describe, expect, it } from "vitest";
import { COSE_ALGORITHM, PASSKEY_ALGORITHMS } from "./passkeys.server";

describe("passkey algorithms", () => {
  it("are the WebAuthn library's own COSE identifiers", () => {
    expect(COSE_ALGORITHM).toEqual({ EdDSA: COSEALG.EdDSA, ES256: COSEALG.ES256, RS256: COSEALG.RS256 });
    expect(PASSKEY_ALGORITHMS).toEqual([COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256]);
  });
});
