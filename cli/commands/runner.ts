import { type Command, Option } from "commander";
import { resolveServices } from "../../src/services/connect.ts";
import { connectStore } from "../../src/store/index.ts";
import { launchRunner, untilSignal } from "../support/runner-launch.ts";
import { checkModelsAtStart, positiveIntFlag, serviceSetup } from "./common.ts";

export function registerRunnerCommand(program: Command): void {
  program
    .command("runner")
    .description(
      "Start a runner worker: takes queued runs and drives their searches. Start several, on one machine or many, against one REDIS_URL and MONGODB_URI.",
    )
    .option("--concurrency <n>", "runs this worker drives at once (default from config: 2)")
    .addOption(
      new Option("--executor <name>", "where scripts run (default auto: Docker if available, else bubblewrap)").choices(
        ["auto", "docker", "sandbox"],
      ),
    )
    .option("--no-warm", "start a fresh interpreter for every script instead of forking a warm one (env AIDE_WARM=0)")
    .action(async (flags: { concurrency?: string; executor?: "auto" | "docker" | "sandbox"; warm?: boolean }) => {
      const concurrency = positiveIntFlag("concurrency", flags.concurrency);
      const execution = {
        ...(flags.executor ? { executor: flags.executor } : {}),
        ...(flags.warm === false ? { warm: false } : {}),
      };
      const { config, logger } = serviceSetup("info", { execution });
      await checkModelsAtStart(config, logger, "aide runner");
      const urls = await resolveServices(config, logger);
      const store = await connectStore(urls.mongoUri, logger);
      const runner = await launchRunner({
        config,
        store,
        redisUrl: urls.redisUrl,
        dataDir: urls.dataDir,
        logger,
        concurrency,
        label: "aide runner",
      });
      process.stderr.write("aide runner: Ctrl-C to stop.\n");
      await untilSignal();
      process.stderr.write("aide runner: stopping; runs in flight continue on another worker.\n");
      await runner.close();
      await store.close();
      logger.flush();
    });
}
