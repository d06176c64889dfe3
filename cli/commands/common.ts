import { userInfo } from "node:os";
import { checkCoder } from "../../src/coders/index.ts";
import { modelCheckLine } from "../../src/coders/openai/index.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";
import { createLogger, type Logger } from "../../src/logger.ts";
import { readRunOption, type RunOptionName } from "../../src/runs/run-options.ts";
import type { Actor } from "../../src/runs/service.ts";
import { openServiceContext, type ServiceContext } from "../support/service-context.ts";

/**
 * The log level of a command: log.level of the config (YAML file or AIDE_LOG_LEVEL) when set, else the command's
 * own default (`fallback`: quiet for one-shot commands, info for services and `aide run`'s aide.log).
 */
export function logLevel(config: Config, fallback: string): string {
  return config.log.level ?? fallback;
}

/** Config and a stderr logger for a service command (at `level` unless the config's log.level says otherwise). */
export function serviceSetup(
  level = "warn",
  overrides: Record<string, unknown> = {},
): { config: Config; logger: Logger } {
  const config = loadConfig({ overrides });
  const logger = createLogger({ level: logLevel(config, level) });
  return { config, logger };
}

/** Opens the services, runs `fn`, and always closes them. */
export async function withServices<T>(
  fn: (ctx: ServiceContext, config: Config, logger: Logger) => Promise<T>,
  level = "warn",
): Promise<T> {
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
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * A flag that sets a run option (--steps, --parallel, --timeout, --metric, --budget): its value, checked by the run
 * options' schema as every entry point checks it; undefined when the flag was not given.
 */
export function runOptionFlag<K extends RunOptionName>(name: K, value: string | undefined) {
  if (value === undefined) return undefined;
  const read = readRunOption(name, value);
  if ("problem" in read) throw new UsageError(read.problem);
  return read.value;
}

/** `--holdout <share>` / `--no-holdout` (commander gives false): the share, null for none, undefined when not given. */
export function holdoutFlag(value: string | false | undefined): number | null | undefined {
  if (value === false) return null;
  return runOptionFlag("holdout", value);
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
