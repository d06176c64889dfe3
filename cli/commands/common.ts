import { userInfo } from "node:os";
import { checkCoder } from "../../src/coders/index.ts";
import { modelCheckLine } from "../../src/coders/openai/index.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import type { Actor } from "../../src/runs/service.ts";
import { openServiceContext, type ServiceContext } from "../service-context.ts";

/** Config and a stderr logger for a service command (quiet unless AIDE_LOG_LEVEL says otherwise). */
export function serviceSetup(level = "warn", overrides: Record<string, unknown> = {}): { config: Config; logger: Logger } {
  const config = loadConfig({ overrides });
  const logger = createLogger({ level: process.env.AIDE_LOG_LEVEL ?? level });
  return { config, logger };
}

/** Opens the services, runs `fn`, and always closes them. */
export async function withServices<T>(fn: (ctx: ServiceContext, config: Config, logger: Logger) => Promise<T>, level = "warn"): Promise<T> {
  const { config, logger } = serviceSetup(level);
  const ctx = await openServiceContext(config, logger);
  try {
    return await fn(ctx, config, logger);
  } finally {
    await ctx.close();
    logger.flush();
  }
}

/** The person at this terminal. They can reach the database already, so they count as an admin. */
export function terminalActor(): Actor {
  const name = userInfo().username;
  return { platform: "cli", userId: name, displayName: name, isAdmin: true };
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** A flag that must be a positive whole number; undefined when the flag was not given. */
export function positiveIntFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got "${value}".`);
  return n;
}

/**
 * The model check of a service at start (`aide runner`, `aide slack`, `aide discord`) when the configured coder is
 * openai: a model that cannot be used is said in one line (a fatal ModelError, exit code 1) before anything starts;
 * a usable one is named with how the review gets its verdict.
 */
export async function checkModelsAtStart(config: Config, logger: Logger, label: string): Promise<void> {
  const report = await checkCoder(config, logger);
  if (report) process.stderr.write(`${label}: ${modelCheckLine(report)}.\n`);
}
