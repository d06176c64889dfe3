import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UsageError } from "./errors.ts";
import { runOptionsSchema } from "./run-options-schema.ts";

/** The settings that are a run's options too (default steps, parallel, time limit, coder) take its limits. */
const run = runOptionsSchema.shape;

/** The one schema of configuration. Values come from config/default.yaml, a user file, the environment, flags. */
export const configSchema = z
  .object({
    coder: run.coder,
    openai: z
      .object({
        baseUrl: z.string(),
        apiKey: z.string().optional(),
        codeModel: z.string().min(1),
        reviewModel: z.string().min(1),
        temperature: z.number().min(0).max(2).nullable(),
        reasoningEffort: z.enum(["minimal", "low", "medium", "high"]).nullable(),
        maxOutputTokens: z.number().int().min(256).nullable(),
        tools: z.boolean(),
        stream: z.boolean(),
        maxRetries: z.number().int().min(0).max(10),
        timeoutSec: z.number().positive(),
        idleTimeoutSec: z.number().positive(),
        /** Estimated tokens a code prompt may take (src/search/prompt-budget.ts trims it to fit). */
        maxPromptTokens: z.number().int().min(1000),
        prices: z.record(
          z.string(),
          z.object({ inputPerMTok: z.number().min(0), outputPerMTok: z.number().min(0) }).strict(),
        ),
      })
      .strict(),
    search: z
      .object({
        steps: run.steps,
        numDrafts: z.number().int().min(1),
        debugProb: z.number().min(0).max(1),
        maxDebugDepth: z.number().int().min(0),
        parallel: run.parallel,
        seed: z.number().int(),
        holdout: run.holdout.unwrap(),
      })
      .strict(),
    execution: z
      .object({
        executor: z.enum(["auto", "docker", "sandbox", "local"]),
        warm: z.boolean(),
        dockerImage: z.string().min(1),
        cpus: z.number().positive(),
        python: z.string().min(1),
        timeoutSec: run.timeoutSec,
        memoryMb: z.number().int().min(64),
        outputCapChars: z.number().int().min(10_000),
        workingDirMb: z.number().int().min(1),
        workingDirFiles: z.number().int().min(10),
      })
      .strict(),
    data: z
      .object({
        previewMaxChars: z.number().int().min(500),
        maxDownloadMb: z.number().positive(),
        downloadTimeoutSec: z.number().positive(),
        maxRedirects: z.number().int().min(0).max(20),
        maxUnpackedMb: z.number().positive(),
        maxFiles: z.number().int().min(1),
        allowPrivateHosts: z.boolean(),
        allowedAddresses: z.array(z.string().min(1)),
      })
      .strict(),
    services: z.object({ redisUrl: z.string(), mongoUri: z.string(), dataDir: z.string() }).strict(),
    runner: z.object({ concurrency: z.number().int().min(1).max(64), lockDurationSec: z.number().min(1) }).strict(),
    chat: z
      .object({
        notifyIntervalSec: z.number().min(0),
        snippetLines: z.number().int().min(5).max(200),
        maxAttachmentMb: z.number().positive(),
        defaultSteps: run.steps,
        defaultParallel: run.parallel,
      })
      .strict(),
    slack: z
      .object({
        botToken: z.string().optional(),
        signingSecret: z.string().optional(),
        appToken: z.string().optional(),
        apiUrl: z.string(),
        port: z.number().int().min(0).max(65535),
        admins: z.array(z.string()),
      })
      .strict(),
    discord: z
      .object({
        token: z.string().optional(),
        applicationId: z.string(),
        apiUrl: z.string(),
        admins: z.array(z.string()),
        adminPermissions: z.array(z.string()),
        messageContent: z.boolean(),
      })
      .strict(),
    web: z
      .object({
        enabled: z.boolean(),
        host: z.string().min(1),
        port: z.number().int().min(0).max(65535),
        publicUrl: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]),
      })
      .strict(),
    /** null: each command's own default (cli/commands/common.ts logLevel). */
    log: z
      .object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).nullable() })
      .strict(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL("../config/default.yaml", import.meta.url));

type Env = Record<string, string | undefined>;

/** A config as read from YAML, before it is validated. */
type RawConfig = Record<string, unknown>;

const truthy = (v: string): boolean => ["1", "true", "yes"].includes(v.toLowerCase());
const notFalsy = (v: string): boolean => !["0", "false", "no", "off"].includes(v.toLowerCase());

/** Environment variables that map onto config keys (a dotted path), with how the value is read. */
const ENV_KEYS: Array<[string, string, (v: string) => unknown]> = [
  ["AIDE_CODER", "coder", String],
  ["OPENAI_BASE_URL", "openai.baseUrl", String],
  ["OPENAI_API_KEY", "openai.apiKey", String],
  ["AIDE_CODE_MODEL", "openai.codeModel", String],
  ["AIDE_REVIEW_MODEL", "openai.reviewModel", String],
  ["AIDE_EXECUTOR", "execution.executor", String],
  ["AIDE_PYTHON", "execution.python", String],
  ["AIDE_WARM", "execution.warm", truthy],
  ["AIDE_HOLDOUT", "search.holdout", (v) => (notFalsy(v) ? Number(v) : null)],
  ["AIDE_LOG_LEVEL", "log.level", String],
  ["AIDE_SANDBOX_IMAGE", "execution.dockerImage", String],
  ["AIDE_DATA_ALLOW_PRIVATE_HOSTS", "data.allowPrivateHosts", truthy],
  ["AIDE_DATA_ALLOWED_ADDRESSES", "data.allowedAddresses", splitList],
  ["REDIS_URL", "services.redisUrl", String],
  ["MONGODB_URI", "services.mongoUri", String],
  ["AIDE_DATA_DIR", "services.dataDir", String],
  ["SLACK_BOT_TOKEN", "slack.botToken", String],
  ["SLACK_SIGNING_SECRET", "slack.signingSecret", String],
  ["SLACK_APP_TOKEN", "slack.appToken", String],
  ["SLACK_API_URL", "slack.apiUrl", String],
  ["PORT", "slack.port", Number],
  ["SLACK_ADMINS", "slack.admins", splitList],
  ["DISCORD_TOKEN", "discord.token", String],
  ["DISCORD_APPLICATION_ID", "discord.applicationId", String],
  ["DISCORD_API_URL", "discord.apiUrl", String],
  ["DISCORD_ADMINS", "discord.admins", splitList],
  ["AIDE_WEB", "web.enabled", notFalsy],
  ["AIDE_WEB_HOST", "web.host", String],
  ["AIDE_WEB_PORT", "web.port", Number],
  ["AIDE_PUBLIC_URL", "web.publicUrl", String],
  ["DISCORD_MESSAGE_CONTENT", "discord.messageContent", truthy],
];

const isTable = (v: unknown): v is RawConfig => typeof v === "object" && v !== null && !Array.isArray(v);

/** Sets a dotted path in a raw config, making the tables on the way. */
function setPath(config: RawConfig, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop()!;
  let table = config;
  for (const key of keys) {
    const next = table[key];
    if (isTable(next)) {
      table = next;
    } else {
      const made: RawConfig = {};
      table[key] = made;
      table = made;
    }
  }
  table[last] = value;
}

function splitList(v: string): string[] {
  return v
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

function readYaml(path: string): RawConfig {
  try {
    const parsed: unknown = parseYaml(readFileSync(path, "utf8")) ?? {};
    if (!isTable(parsed)) throw new Error("it does not hold a table of settings");
    return parsed;
  } catch (err) {
    throw new UsageError(`Cannot read the config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function mergeDeep(base: RawConfig, over: RawConfig): RawConfig {
  const out: RawConfig = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const under = base[k];
    out[k] = isTable(v) && isTable(under) ? mergeDeep(under, v) : v;
  }
  return out;
}

/**
 * Loads the configuration: defaults file, then the file named by AIDE_CONFIG, then environment variables,
 * then `overrides` (command-line flags, as a partial config). Throws UsageError naming the bad key.
 */
export function loadConfig(options: { env?: Env; overrides?: RawConfig; defaultsPath?: string } = {}): Config {
  const env = options.env ?? process.env;
  let raw = readYaml(options.defaultsPath ?? DEFAULT_CONFIG_PATH);
  const userPath = env.AIDE_CONFIG;
  if (userPath) {
    if (!existsSync(userPath)) throw new UsageError(`AIDE_CONFIG points to ${userPath}, which does not exist.`);
    raw = mergeDeep(raw, readYaml(userPath));
  }
  raw = structuredClone(raw);
  for (const [name, path, read] of ENV_KEYS) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, read(value));
  }
  if (options.overrides) raw = mergeDeep(raw, options.overrides);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`Invalid configuration at ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

/** The configuration as it may be written to disk or shown: without secrets. */
export function redactConfig(config: Config): Config {
  return {
    ...config,
    openai: { ...config.openai, apiKey: config.openai.apiKey ? "[set]" : undefined },
    slack: {
      ...config.slack,
      botToken: config.slack.botToken ? "[set]" : undefined,
      signingSecret: config.slack.signingSecret ? "[set]" : undefined,
      appToken: config.slack.appToken ? "[set]" : undefined,
    },
    discord: { ...config.discord, token: config.discord.token ? "[set]" : undefined },
    services: {
      ...config.services,
      redisUrl: redactUrl(config.services.redisUrl),
      mongoUri: redactUrl(config.services.mongoUri),
    },
  };
}

/** A service URL without its password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, "//$1:***@");
}
