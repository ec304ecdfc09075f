import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { inject } from "vitest";
import type { TestApp } from "./app";

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
