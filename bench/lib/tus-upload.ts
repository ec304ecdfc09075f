import fs from "node:fs";
import * as tus from "tus-js-client";

/** Uploads a file in one tus PATCH (no chunking, no retries), as a signed-in page would. */
export function tusUpload(url: string, cookie: string, file: string, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(fs.createReadStream(file), {
      endpoint: `${url}/api/uploads`,
      chunkSize: Infinity,
      headers: { cookie },
      metadata: { filename: name, filetype: "application/octet-stream" },
      retryDelays: [],
      storeFingerprintForResuming: false,
      onError: reject,
      onSuccess: () => resolve(),
    });
    upload.start();
  });
}
