// A runner in a process of its own, for the crash tests: started with tsx, killed with SIGKILL.
// argv: redisUrl mongoUri dataDir lockMs
import { loadConfig } from "../../../src/config.ts";
import { createLogger } from "../../../src/logger.ts";
import { connectStore } from "../../../src/store/index.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { Runner } from "../../../runner/worker.ts";

const [redisUrl, mongoUri, dataDir, lockMs, dbName] = process.argv.slice(2) as [string, string, string, string, string];
const logger = createLogger({ level: "warn" });
const config = loadConfig({ env: {}, overrides: { data: { allowPrivateHosts: true } } });
const store = await connectStore(mongoUri, logger, { dbName });
const runner = new Runner({
  config,
  store,
  redisUrl,
  dataDir,
  executor: new SandboxExecutor({ logger }),
  logger,
  concurrency: 1,
  lockDurationMs: Number(lockMs),
  stalledIntervalMs: 1000,
  workerId: `child-${process.pid}`,
});
runner.start();
process.stdout.write("ready\n");
