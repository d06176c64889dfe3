import type { Config } from "../../src/config.ts";
import { ExecutorError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import type { Executor } from "../../src/search/types.ts";
import { DEFAULT_DISK_LIMITS, DiskLimitedExecutor, type DiskLimits } from "./disk-limit.ts";
import { defaultImage, DockerExecutor } from "./docker.ts";
import { LocalExecutor } from "./local.ts";
import { SandboxExecutor } from "./sandbox.ts";

export type ExecutorChoice = "auto" | "docker" | "sandbox" | "local";

export interface SelectExecutorOptions {
  pythonPath?: string;
  /** Image of the docker executor; default AIDE_SANDBOX_IMAGE or aide-sandbox:latest. */
  dockerImage?: string;
  /** CPUs a script may use in Docker; default min(4, cores). */
  cpus?: number;
  logger: Logger;
  /** Warm interpreters for the docker and sandbox executors (execution.warm). Default false. */
  warm?: boolean;
  /** What one script may write to ./working (execution.workingDirMb / workingDirFiles). */
  disk?: DiskLimits;
}

/** The executor `execution.*` of the configuration describes (`aide run`, `aide runner`, the bots' runner). */
export function executorFromConfig(config: Config, logger: Logger): Promise<Executor> {
  const e = config.execution;
  return selectExecutor(e.executor, {
    pythonPath: e.python,
    dockerImage: e.dockerImage,
    cpus: e.cpus,
    logger,
    warm: e.warm,
    disk: { maxMb: e.workingDirMb, maxFiles: e.workingDirFiles },
  });
}

/**
 * The one way to make an executor (for the CLI, the runner, the bots and the tests alike): the executor the
 * configuration asks for, checked before any run uses it, with the working directory's limits around it.
 * `auto` takes Docker when a daemon answers and the sandbox image exists, else the bubblewrap sandbox, and
 * logs which and why.
 */
export async function selectExecutor(choice: ExecutorChoice, opts: SelectExecutorOptions): Promise<Executor> {
  return new DiskLimitedExecutor(await chooseExecutor(choice, opts), opts.disk ?? DEFAULT_DISK_LIMITS, opts.logger);
}

async function chooseExecutor(choice: ExecutorChoice, opts: SelectExecutorOptions): Promise<Executor> {
  const { logger } = opts;
  const docker = () => new DockerExecutor({ logger, image: opts.dockerImage, cpus: opts.cpus, warm: opts.warm });
  const sandbox = () => new SandboxExecutor({ logger, pythonPath: opts.pythonPath, warm: opts.warm });
  switch (choice) {
    case "local":
      return new LocalExecutor({ logger, pythonPath: opts.pythonPath });
    case "docker": {
      const check = await DockerExecutor.check({ image: opts.dockerImage });
      if (!check.ok) throw new ExecutorError(check.reason ?? "Docker cannot run scripts here.");
      return docker();
    }
    case "sandbox": {
      const check = await SandboxExecutor.check({ pythonPath: opts.pythonPath });
      if (!check.ok) throw new ExecutorError(check.reason ?? "The bubblewrap sandbox cannot run here.");
      return sandbox();
    }
    case "auto": {
      const dockerCheck = await DockerExecutor.check({ image: opts.dockerImage });
      if (dockerCheck.ok) {
        logger.info({ executor: "docker", image: opts.dockerImage ?? defaultImage() }, "executor auto: using Docker");
        return docker();
      }
      const sandboxCheck = await SandboxExecutor.check({ pythonPath: opts.pythonPath });
      if (sandboxCheck.ok) {
        logger.info(
          { executor: "sandbox", dockerUnavailable: dockerCheck.reason },
          "executor auto: Docker unavailable, using the bubblewrap sandbox",
        );
        return sandbox();
      }
      throw new ExecutorError(
        `No sandbox can run scripts here. Docker: ${dockerCheck.reason ?? "unavailable"}. Bubblewrap: ${sandboxCheck.reason ?? "unavailable"}.`,
      );
    }
  }
}
