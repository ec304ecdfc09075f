import path from "node:path";
import { describe, expect, it } from "vitest";

// Spawns the server, so it stays in the integration lane; the pure config tests are in
// app/config.server.test.ts.
describe("start-up with invalid configuration", () => {
  it("stops with a message naming the variable and what is wrong", async () => {
    const { spawnSync } = await import("node:child_process");
    const result = spawnSync("npx", ["tsx", "server.ts"], {
      cwd: path.resolve(import.meta.dirname, ".."),
      env: { ...process.env, PORT: "not-a-port", S3_ENDPOINT: "http://s3.invalid", S3_ACCESS_KEY: "" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Invalid configuration");
    expect(result.stderr).toContain("PORT: must be a port number");
    expect(result.stderr).toContain("S3_ACCESS_KEY: is required when S3_ENDPOINT is set");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
