import { join } from "node:path";
import type { Config } from "../../src/config.ts";
import type { Logger } from "../../src/logger.ts";
import type { Store } from "../../src/store/index.ts";
import { slackFileHeaders } from "../../bots/slack/files.ts";
import { executorFromConfig } from "../../runner/executors/select.ts";
import { Runner, type RunnerOptions } from "../../runner/worker.ts";

/** Picks the configured executor and starts a runner worker in this process; says where on stderr. */
export async function launchRunner(args: {
  config: Config;
  store: Store;
  redisUrl: string;
  dataDir: string;
  logger: Logger;
  concurrency?: number;
  label: string;
  /** Instead of the configured coder (a test's or a benchmark's). */
  createCoder?: RunnerOptions["createCoder"];
}): Promise<Runner> {
  const { config, logger } = args;
  const executor = await executorFromConfig(config, logger);
  // Files shared in Slack are fetched with the bot token (only from Slack's file hosts): any runner may drive a Slack run.
  const headersFor = slackFileHeaders(config.slack);
  const runner = new Runner({
    config,
    store: args.store,
    redisUrl: args.redisUrl,
    dataDir: args.dataDir,
    executor,
    logger,
    concurrency: args.concurrency,
    createCoder: args.createCoder,
    headersFor,
  });
  runner.start();
  process.stderr.write(
    `${args.label}: runner ${runner.workerId}, executor ${executor.name}, data in ${join(args.dataDir, "runs")}.\n`,
  );
  return runner;
}

export { untilSignal } from "./signals.ts";
