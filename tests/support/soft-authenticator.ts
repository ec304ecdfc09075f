import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";

/**
 * A tiny software WebAuthn authenticator for tests: one ES256 key per credential, attestation
 * "none". It builds the same clientDataJSON / authenticatorData / attestationObject a browser
 * and a real authenticator would, so the server's verification runs unchanged.
 */
const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString("base64url");
const sha256 = (data: Uint8Array | Buffer | string) => createHash("sha256").update(data).digest();

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

export interface SoftCredential {
  id: Buffer;
  privateKey: KeyObject;
  coseKey: Uint8Array;
  userHandle: string;
  counter: number;
}

interface CeremonyOptions {
  challenge: string;
  rp?: { id?: string };
  rpId?: string;
  user?: { id: string };
}

export interface Overrides {
  origin?: string;
  challenge?: string;
  rpId?: string;
  /** User verified (PIN or biometrics); true unless turned off. */
  userVerified?: boolean;
  /** Signature counter to report; unset, the credential's counter + 1. */
  counter?: number;
}

function clientData(type: string, challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

export class SoftAuthenticator {
  constructor(readonly origin: string) {}

  /** Answers registration options (from generateRegistrationOptions) like navigator.credentials.create. */
  register(options: CeremonyOptions, overrides: Overrides = {}): { credential: SoftCredential; response: Record<string, unknown> } {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const coseKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, "base64url")],
        [-3, Buffer.from(jwk.y!, "base64url")],
      ]),
    );
    const id = randomBytes(16);
    const rpId = overrides.rpId ?? options.rp?.id ?? new URL(this.origin).hostname;
    const flags = FLAG_UP | FLAG_AT | (overrides.userVerified === false ? 0 : FLAG_UV);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([flags]),
      counterBytes(0),
      Buffer.alloc(16),
      idLength,
      id,
      Buffer.from(coseKey),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ["fmt", "none"],
        ["attStmt", new Map<string, string>()],
        ["authData", authData],
      ]),
    );
    const clientDataJSON = clientData("webauthn.create", overrides.challenge ?? options.challenge, overrides.origin ?? this.origin);
    const credential: SoftCredential = { id, privateKey, coseKey, userHandle: options.user?.id ?? "", counter: 0 };
    return {
      credential,
      response: {
        id: b64url(id),
        rawId: b64url(id),
        type: "public-key",
        response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ["internal"] },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      },
    };
  }

  /** Answers authentication options like navigator.credentials.get, signing with `credential`. */
  authenticate(credential: SoftCredential, options: CeremonyOptions, overrides: Overrides = {}): Record<string, unknown> {
    const rpId = overrides.rpId ?? options.rpId ?? new URL(this.origin).hostname;
    const counter = overrides.counter ?? credential.counter + 1;
    credential.counter = Math.max(credential.counter, counter);
    const flags = FLAG_UP | (overrides.userVerified === false ? 0 : FLAG_UV);
    const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([flags]), counterBytes(counter)]);
    const clientDataJSON = clientData("webauthn.get", overrides.challenge ?? options.challenge, overrides.origin ?? this.origin);
    const signature = sign("sha256", Buffer.concat([authenticatorData, sha256(clientDataJSON)]), credential.privateKey);
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: "public-key",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authenticatorData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}
