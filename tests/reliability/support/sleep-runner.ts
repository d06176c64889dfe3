/**
 * `aide runner` with sleep-bound scripts (support/sleep-coder.ts), for the load test: the same configuration
 * (AIDE_CONFIG, REDIS_URL, MONGODB_URI...), executor and start-up as the real command, only the coder differs.
 * Run as `node bin/aide.mjs`-style entry: `node --import tsx sleep-runner.ts --concurrency N`.
 * Env: AIDE_SLEEP_SEC (default 2) seconds each script sleeps.
 */
import { loadConfig } from "../../../src/config.ts";
import { createLogger } from "../../../src/logger.ts";
import { resolveServices } from "../../../src/services/connect.ts";
import { connectStore } from "../../../src/store/index.ts";
import { launchRunner, untilSignal } from "../../../cli/support/runner-launch.ts";
import { SleepBoundOfflineCoder } from "./sleep-coder.ts";

const argv = process.argv.slice(2);
const at = argv.indexOf("--concurrency");
const concurrency = at >= 0 ? Number(argv[at + 1]) : undefined;
const sleepSec = Number(process.env.AIDE_SLEEP_SEC ?? "2");
const config = loadConfig();
const logger = createLogger({ level: process.env.AIDE_LOG_LEVEL ?? "info" });
const urls = await resolveServices(config, logger);
const store = await connectStore(urls.mongoUri, logger);
const runner = await launchRunner({
  config,
  store,
  redisUrl: urls.redisUrl,
  dataDir: urls.dataDir,
  logger,
  concurrency,
  label: "sleep runner",
  createCoder: () => new SleepBoundOfflineCoder(sleepSec),
});
await untilSignal();
await runner.close();
await store.close();
logger.flush();
