import { Command, Option } from "commander";
import { UsageError } from "../../src/errors.ts";
import { resolveServices } from "../../src/services/connect.ts";
import { connectStore } from "../../src/store/index.ts";
import { selectExecutor } from "../../runner/executors/select.ts";
import { Runner } from "../../runner/worker.ts";
import { join } from "node:path";
import { serviceSetup } from "./common.ts";

export function registerRunnerCommand(program: Command): void {
  program
    .command("runner")
    .description("Start a runner worker: takes queued runs and drives their searches. Start several, on one machine or many, against one REDIS_URL and MONGODB_URI.")
    .option("--concurrency <n>", "runs this worker drives at once (default from config: 2)")
    .addOption(new Option("--executor <name>", "where scripts run (default auto: Docker if available, else bubblewrap)").choices(["auto", "docker", "sandbox"]))
    .action(async (flags: { concurrency?: string; executor?: "auto" | "docker" | "sandbox" }) => {
      const concurrency = flags.concurrency === undefined ? undefined : Number(flags.concurrency);
      if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) throw new UsageError("--concurrency must be a positive whole number.");
      const { config, logger } = serviceSetup("info", flags.executor ? { execution: { executor: flags.executor } } : {});
      const urls = await resolveServices(config, logger);
      const executor = await selectExecutor(config.execution.executor, {
        pythonPath: config.execution.python,
        dockerImage: config.execution.dockerImage,
        cpus: config.execution.cpus,
        logger,
      });
      const store = await connectStore(urls.mongoUri, logger);
      const runner = new Runner({ config, store, redisUrl: urls.redisUrl, dataDir: urls.dataDir, executor, logger, concurrency });
      runner.start();
      process.stderr.write(`aide runner ${runner.workerId}: executor ${executor.name}, data in ${join(urls.dataDir, "runs")}. Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        const shutdown = () => resolve();
        process.once("SIGINT", shutdown);
        process.once("SIGTERM", shutdown);
      });
      process.stderr.write("aide runner: stopping; runs in flight continue on another worker.\n");
      await runner.close();
      await store.close();
      logger.flush();
    });
}
