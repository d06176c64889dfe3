import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import { defaultDataDir, ensureLocalServices } from "./local-services.ts";

export interface ServiceUrls {
  redisUrl: string;
  mongoUri: string;
  dataDir: string;
}

/**
 * Where Redis and MongoDB are: REDIS_URL / MONGODB_URI (config) when set, else the local services shared by
 * every aide process on this machine, started on first use.
 */
export async function resolveServices(config: Config, logger: Logger): Promise<ServiceUrls> {
  const dataDir = config.services.dataDir || defaultDataDir();
  let { redisUrl, mongoUri } = config.services;
  if (!redisUrl || !mongoUri) {
    const local = await ensureLocalServices({ dataDir, need: { redis: !redisUrl, mongo: !mongoUri }, logger });
    redisUrl ||= local.redisUrl ?? "";
    mongoUri ||= local.mongoUri ?? "";
  }
  return { redisUrl, mongoUri, dataDir };
}
