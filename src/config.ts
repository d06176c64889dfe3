import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { UsageError } from "./errors.ts";
import { runOptionsSchema } from "./runs/run-options.ts";

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
        prices: z.record(z.string(), z.object({ inputPerMTok: z.number().min(0), outputPerMTok: z.number().min(0) }).strict()),
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
    log: z.object({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).nullable() }).strict(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL("../config/default.yaml", import.meta.url));

type Env = Record<string, string | undefined>;

/** Environment variables that map onto config keys. */
const ENV_KEYS: Array<[string, (c: Record<string, any>, v: string) => void]> = [
  ["AIDE_CODER", (c, v) => (c.coder = v)],
  ["OPENAI_BASE_URL", (c, v) => (c.openai.baseUrl = v)],
  ["OPENAI_API_KEY", (c, v) => (c.openai.apiKey = v)],
  ["AIDE_CODE_MODEL", (c, v) => (c.openai.codeModel = v)],
  ["AIDE_REVIEW_MODEL", (c, v) => (c.openai.reviewModel = v)],
  ["AIDE_EXECUTOR", (c, v) => (c.execution.executor = v)],
  ["AIDE_PYTHON", (c, v) => (c.execution.python = v)],
  ["AIDE_WARM", (c, v) => (c.execution.warm = ["1", "true", "yes"].includes(v.toLowerCase()))],
  ["AIDE_LOG_LEVEL", (c, v) => (c.log.level = v)],
  ["AIDE_SANDBOX_IMAGE", (c, v) => (c.execution.dockerImage = v)],
  ["AIDE_DATA_ALLOW_PRIVATE_HOSTS", (c, v) => (c.data.allowPrivateHosts = ["1", "true", "yes"].includes(v.toLowerCase()))],
  ["AIDE_DATA_ALLOWED_ADDRESSES", (c, v) => (c.data.allowedAddresses = splitList(v))],
  ["REDIS_URL", (c, v) => (c.services.redisUrl = v)],
  ["MONGODB_URI", (c, v) => (c.services.mongoUri = v)],
  ["AIDE_DATA_DIR", (c, v) => (c.services.dataDir = v)],
  ["SLACK_BOT_TOKEN", (c, v) => (c.slack.botToken = v)],
  ["SLACK_SIGNING_SECRET", (c, v) => (c.slack.signingSecret = v)],
  ["SLACK_APP_TOKEN", (c, v) => (c.slack.appToken = v)],
  ["SLACK_API_URL", (c, v) => (c.slack.apiUrl = v)],
  ["PORT", (c, v) => (c.slack.port = Number(v))],
  ["SLACK_ADMINS", (c, v) => (c.slack.admins = splitList(v))],
  ["DISCORD_TOKEN", (c, v) => (c.discord.token = v)],
  ["DISCORD_APPLICATION_ID", (c, v) => (c.discord.applicationId = v)],
  ["DISCORD_API_URL", (c, v) => (c.discord.apiUrl = v)],
  ["DISCORD_ADMINS", (c, v) => (c.discord.admins = splitList(v))],
  ["AIDE_WEB", (c, v) => (c.web.enabled = !["0", "false", "no", "off"].includes(v.toLowerCase()))],
  ["AIDE_WEB_HOST", (c, v) => (c.web.host = v)],
  ["AIDE_WEB_PORT", (c, v) => (c.web.port = Number(v))],
  ["AIDE_PUBLIC_URL", (c, v) => (c.web.publicUrl = v)],
  ["DISCORD_MESSAGE_CONTENT", (c, v) => (c.discord.messageContent = ["1", "true", "yes"].includes(v.toLowerCase()))],
];

function splitList(v: string): string[] {
  return v.split(",").map((x) => x.trim()).filter(Boolean);
}

function readYaml(path: string): Record<string, any> {
  try {
    return (parseYaml(readFileSync(path, "utf8")) ?? {}) as Record<string, any>;
  } catch (err) {
    throw new UsageError(`Cannot read the config file ${path}: ${(err as Error).message}`, { cause: err });
  }
}

function mergeDeep(base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = v && typeof v === "object" && !Array.isArray(v) && base[k] && typeof base[k] === "object" ? mergeDeep(base[k], v) : v;
  }
  return out;
}

/**
 * Loads the configuration: defaults file, then the file named by AIDE_CONFIG, then environment variables,
 * then `overrides` (command-line flags, as a partial config). Throws UsageError naming the bad key.
 */
export function loadConfig(options: { env?: Env; overrides?: Record<string, any>; defaultsPath?: string } = {}): Config {
  const env = options.env ?? process.env;
  let raw = readYaml(options.defaultsPath ?? DEFAULT_CONFIG_PATH);
  const userPath = env.AIDE_CONFIG;
  if (userPath) {
    if (!existsSync(userPath)) throw new UsageError(`AIDE_CONFIG points to ${userPath}, which does not exist.`);
    raw = mergeDeep(raw, readYaml(userPath));
  }
  raw = structuredClone(raw);
  for (const [name, set] of ENV_KEYS) {
    const value = env[name];
    if (value !== undefined && value !== "") set(raw, value);
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
    services: { ...config.services, redisUrl: redactUrl(config.services.redisUrl), mongoUri: redactUrl(config.services.mongoUri) },
  };
}

/** A service URL without its password. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, "//$1:***@");
}
