import type { Logger } from "../../src/logger.ts";
import type { Executor } from "../../src/search/types.ts";
import { DEFAULT_DISK_LIMITS, DiskLimitedExecutor, type DiskLimits } from "./disk-limit.ts";
import { LocalExecutor } from "./local.ts";
import { SandboxExecutor } from "./sandbox.ts";

export { LocalExecutor, type LocalOptions } from "./local.ts";
export { SandboxExecutor, SANDBOX_ROOT, DEFAULT_PYTHON, type SandboxCheck, type SandboxOptions } from "./sandbox.ts";
export { cleanEnv } from "./process.ts";
export { DiskLimitedExecutor, DEFAULT_DISK_LIMITS, dirUsage, type DiskLimits } from "./disk-limit.ts";

export type ExecutorKind = "sandbox" | "local";

/**
 * The executor for a run. "local" runs scripts without any isolation; callers must only pick it when the
 * user passed an explicit unsafe flag.
 */
export function createExecutor(kind: ExecutorKind, opts: { pythonPath?: string; logger: Logger; disk?: DiskLimits }): Executor {
  const inner = kind === "sandbox" ? new SandboxExecutor({ logger: opts.logger, pythonPath: opts.pythonPath }) : new LocalExecutor({ logger: opts.logger, pythonPath: opts.pythonPath });
  return new DiskLimitedExecutor(inner, opts.disk ?? DEFAULT_DISK_LIMITS, opts.logger);
}
