import type { Command } from "commander";
import {
  defaultDataDir,
  ensureLocalServices,
  localServicesStatus,
  stopLocalServices,
} from "../../src/services/local-services.ts";
import { serviceSetup } from "./common.ts";

export function registerServicesCommand(program: Command): void {
  const services = program
    .command("services")
    .description("The local Redis and embedded MongoDB-protocol server used when REDIS_URL / MONGODB_URI are unset.");
  const dataDir = () => serviceSetup().config.services.dataDir || defaultDataDir();
  const print = (rows: Awaited<ReturnType<typeof localServicesStatus>>) =>
    process.stdout.write(
      rows.length
        ? `${rows
            .map((r) => `${r.kind.padEnd(6)} ${r.running ? "running" : "not running"}  ${r.url}  pid ${r.pid}`)
            .join("\n")}\n`
        : "No local services are recorded (they start on first use).\n",
    );
  services
    .command("start")
    .description("start both (if not running); they keep running for every aide process on this machine")
    .action(async () => {
      const { logger } = serviceSetup("warn");
      await ensureLocalServices({ dataDir: dataDir(), need: { redis: true, mongo: true }, logger });
      print(await localServicesStatus(dataDir()));
    });
  services
    .command("status")
    .description("show whether they run, where, and their pids")
    .action(async () => {
      print(await localServicesStatus(dataDir()));
    });
  services
    .command("stop")
    .description("stop both")
    .action(async () => {
      const stopped = await stopLocalServices(dataDir());
      process.stdout.write(
        stopped.length
          ? `${stopped.map((r) => `${r.kind.padEnd(6)} stopped (was pid ${r.pid})`).join("\n")}\n`
          : "Nothing to stop.\n",
      );
    });
}
