// A separate process that takes the tus lock of one upload and keeps it until it is killed:
// `tsx tests/support/lock-holder.ts <redis url> <prefix> <upload id>`. Prints "locked".
import { RedisCache } from "../../app/services/cache/redis.server";
import { createTusLocker } from "../../app/services/cache/tus.server";

const [url, prefix, uploadId] = process.argv.slice(2);
const cache = new RedisCache(url, { prefix });
await cache.health();
await createTusLocker(cache)
  .newLock(uploadId)
  .lock(new AbortController().signal, () => {});
process.stdout.write("locked\n");
setInterval(() => {}, 60_000);
