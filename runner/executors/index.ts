import type { Logger } from "../../src/logger.ts";
import type { Executor } from "../../src/search/types.ts";
import { LocalExecutor } from "./local.ts";
import { SandboxExecutor } from "./sandbox.ts";

export { LocalExecutor, type LocalOptions } from "./local.ts";
export { SandboxExecutor, SANDBOX_ROOT, DEFAULT_PYTHON, type SandboxCheck, type SandboxOptions } from "./sandbox.ts";
export { cleanEnv } from "./process.ts";

export type ExecutorKind = "sandbox" | "local";

/**
 * The executor for a run. "local" runs scripts without any isolation; callers must only pick it when the
 * user passed an explicit unsafe flag.
 */
export function createExecutor(kind: ExecutorKind, opts: { pythonPath?: string; logger: Logger }): Executor {
  switch (kind) {
    case "sandbox":
      return new SandboxExecutor({ logger: opts.logger, pythonPath: opts.pythonPath });
    case "local":
      return new LocalExecutor({ logger: opts.logger, pythonPath: opts.pythonPath });
  }
}
