import { Redis } from "ioredis";
import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import { bullConnection, createRunQueue, enqueueRun, type RunQueue } from "../../src/queue/run-queue.ts";
import { RunService } from "../../src/runs/service.ts";
import { resolveServices, type ServiceUrls } from "../../src/services/connect.ts";
import { connectStore, type Store } from "../../src/store/index.ts";

/** Connections a service command needs, opened once and closed together. */
export interface ServiceContext {
  urls: ServiceUrls;
  store: Store;
  redis: Redis;
  runs: RunService;
  close(): Promise<void>;
}

export async function openServiceContext(config: Config, logger: Logger): Promise<ServiceContext> {
  const urls = await resolveServices(config, logger);
  const store = await connectStore(urls.mongoUri, logger);
  const redis = new Redis(urls.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  try {
    await redis.connect();
  } catch (err) {
    await store.close();
    throw err;
  }
  // The queue is opened on first use only: commands that never enqueue should not open (and close) it.
  let queue: RunQueue | null = null;
  const enqueue = async (runId: string) => {
    queue ??= createRunQueue(bullConnection(urls.redisUrl), { logger });
    await enqueueRun(queue, runId);
  };
  return {
    urls,
    store,
    redis,
    runs: new RunService({ store, redis, enqueue, logger }),
    async close() {
      await queue?.close();
      redis.disconnect();
      await store.close();
    },
  };
}
