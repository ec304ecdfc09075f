import type { Config } from "~/config.server";
import { LocalObjectStore } from "./local.server";
import { S3ObjectStore } from "./s3.server";
import type { ObjectStore } from "./types";

/** The object store the configuration asks for. Call `init()` before use. */
export function createObjectStore(config: Config["storage"]): ObjectStore {
  switch (config.driver) {
    case "local":
      return new LocalObjectStore(config.directory);
    case "s3":
      return new S3ObjectStore(config);
  }
}
