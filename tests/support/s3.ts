import { randomBytes } from "node:crypto";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import type { S3StorageConfig } from "~/services/storage/s3.server";
import type { TestApp } from "./app";

const MiB = 2 ** 20;

/** The S3 driver's configuration against the test S3 server, on a fresh bucket name. */
export function s3Config(overrides: Partial<S3StorageConfig> = {}): S3StorageConfig {
  const { s3 } = inject("services");
  return {
    driver: "s3",
    endpoint: s3.endpoint,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region,
    bucket: `coffer-test-${randomBytes(5).toString("hex")}`,
    forcePathStyle: true,
    partSize: 5 * MiB,
    uploadConcurrency: 4,
    uploadMemory: 64 * MiB,
    ...overrides,
  };
}

/** Incomplete multipart uploads in the app's bucket, asked of the S3 server itself. */
export async function incompleteMultipartUploads(app: TestApp): Promise<number> {
  const s3 = inject("services").s3;
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey } });
  try {
    const result = await client.send(new ListMultipartUploadsCommand({ Bucket: app.env.S3_BUCKET }));
    return result.Uploads?.length ?? 0;
  } finally {
    client.destroy();
  }
}
