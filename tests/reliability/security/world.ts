/**
 * The whole service in one test process, as a team would run it, with everything it produces kept for
 * inspection: the real Slack bot (Bolt, HTTP mode, signed requests) on the fake Slack Web API, optionally the
 * real Discord bot on the fake Discord, a RunService, an in-process Runner (a real sandbox executor chosen through
 * runner/executors' public interface), real Redis and a MongoDB-protocol server, the file server holding the data,
 * optionally the fake OpenAI server as the coder's endpoint, and ONE pino logger (the project's createLogger, with
 * its redaction) writing every component's log lines to a file.
 *
 * Secrets are distinctive (`AIDESECRET...`) so that a scan of everything the world produced can find them.
 * The data-link guard stays on: private hosts refused, only the file server's 127.0.0.1 allowed.
 *
 *   const world = useChatWorld({ runner: { executor: "sandbox" }, discord: true });   // top level of a test file
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { DiscordBot } from "../../../bots/discord/bot.ts";
import { startSlackBot, type SlackBot } from "../../../bots/slack/bot.ts";
import { loadConfig, type Config } from "../../../src/config.ts";
import { createLogger, type Logger } from "../../../src/logger.ts";
import { readEvents, type StoredRunEvent } from "../../../src/queue/events.ts";
import { bullConnection, createRunQueue, enqueueRun, type RunQueue } from "../../../src/queue/run-queue.ts";
import { RunService } from "../../../src/runs/service.ts";
import type { Executor } from "../../../src/search/types.ts";
import type { Store } from "../../../src/store/index.ts";
import type { RunRecord } from "../../../src/store/types.ts";
import { selectExecutor } from "../../../runner/executors/select.ts";
import { Runner } from "../../../runner/worker.ts";
import { startFakeDiscord, type FakeDiscord } from "../../fakes/discord/index.ts";
import { startFileServer, type FileServer } from "../../fakes/file-server.ts";
import { FakeOpenAIServer, type FakeReply } from "../../fakes/openai-server.ts";
import { SlackSender, startFakeSlackApi, type FakeSlackApi } from "../../fakes/slack-api.ts";
import { until } from "../../e2e/slack/support.ts";
import { exampleArchive } from "../../integration/runs/support.ts";
import { useMongo } from "../../support/mongo.ts";
import { useRedisServer } from "../../support/redis.ts";

export { until };

/** Distinctive fake secrets: none of them may ever show up where they do not belong. */
export const SECRETS = {
  slackBotToken: "xoxb-4242-AIDESECRETslackbot-9f3c1e7a5b",
  slackSigningSecret: "AIDESECRETsigning-5b2d8c0e11f4a9",
  openaiApiKey: "sk-AIDESECRETopenai-7c1a9e3b5d2f",
  /** Only in the runner process's environment (as a deployment's other credentials would be). */
  runnerEnv: "AIDESECRETrunnerenv-3e8f1a6c",
} as const;

/** Environment variables the runner process holds while the world runs (restored afterwards). */
export const RUNNER_ENV: Record<string, string> = {
  OPENAI_API_KEY: SECRETS.openaiApiKey,
  SLACK_BOT_TOKEN: SECRETS.slackBotToken,
  SLACK_SIGNING_SECRET: SECRETS.slackSigningSecret,
  AWS_SECRET_ACCESS_KEY: SECRETS.runnerEnv,
};

export const SLACK_USERS = {
  starter: { id: "USTARTER", name: "ada", displayName: "Ada" },
  stranger: { id: "USTRANGER", name: "bob", displayName: "Bob" },
  admin: { id: "UADMIN1", name: "root", displayName: "Root" },
} as const;

export interface ChatWorldOptions {
  /** A runner in the process (runs stay queued without one). */
  runner?: { executor: "sandbox" | "docker"; concurrency?: number };
  /** Start the Discord bot too. */
  discord?: boolean;
  /** The coder is `openai` against the fake server answering with this (default: the offline coder). */
  openai?: FakeReply;
  /** Config overrides (partial config, merged over the world's). */
  overrides?: Record<string, any>;
  /** Log level of the shared logger (default debug: the more lines, the more a secret scan sees). */
  logLevel?: string;
}

export interface ChatWorld {
  readonly dir: string;
  readonly config: Config;
  readonly logger: Logger;
  readonly logFile: string;
  readonly store: Store;
  readonly redis: Redis;
  readonly redisUrl: string;
  readonly runs: RunService;
  readonly slack: FakeSlackApi;
  readonly sender: SlackSender;
  readonly slackBot: SlackBot;
  readonly discord: FakeDiscord;
  readonly discordBot: DiscordBot;
  readonly openai: FakeOpenAIServer;
  readonly files: FileServer;
  readonly executor: Executor | null;
  /** Where the runner keeps runs' files (`runs/<id>/...`). */
  readonly dataDir: string;
  /** The loan-default example as a tar.gz on the file server. */
  readonly dataUrl: string;
  /** Everything the logger wrote so far. */
  logText(): Promise<string>;
  events(runId: string): Promise<StoredRunEvent[]>;
  /** Polls until the run is finished, stopped or failed. */
  waitForEnd(runId: string, timeoutMs: number): Promise<RunRecord>;
  /** The newest run started in a channel (Slack or Discord), once it exists. */
  runIn(platform: "slack" | "discord", channel: string, timeoutMs?: number): Promise<RunRecord>;
}

function merge(base: Record<string, any>, over: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] =
      v && typeof v === "object" && !Array.isArray(v) && base[k] && typeof base[k] === "object" ? merge(base[k], v) : v;
  }
  return out;
}

export function useChatWorld(opts: ChatWorldOptions = {}): ChatWorld {
  const mongo = useMongo();
  const redisServer = useRedisServer({ flush: false });
  let world: ChatWorld | null = null;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const savedEnv: Record<string, string | undefined> = {};

  beforeAll(async () => {
    for (const [k, v] of Object.entries(RUNNER_ENV)) {
      savedEnv[k] = process.env[k];
      process.env[k] = v;
    }
    const dir = mkdtempSync(join(tmpdir(), "aide-rel-world-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const dataDir = join(dir, "data");
    mkdirSync(dataDir);
    const logFile = join(dir, "aide.log");
    const logger = createLogger({ level: opts.logLevel ?? "debug", destination: logFile });

    const store = await mongo.connect();
    const slack = await startFakeSlackApi({
      botToken: SECRETS.slackBotToken,
      users: Object.values(SLACK_USERS).map((u) => ({
        id: u.id,
        name: u.name,
        realName: u.displayName,
        displayName: u.displayName,
      })),
    });
    cleanups.push(() => slack.close());
    const files = await startFileServer();
    cleanups.push(() => files.close());
    files.route("/loan-default.tar.gz", {
      kind: "file",
      body: await exampleArchive("loan-default"),
      contentType: "application/gzip",
    });
    const openai = new FakeOpenAIServer({
      defaultReply: opts.openai ?? "no model configured",
      models: ["code-model", "review-model"],
    });
    const openaiUrl = await openai.start();
    cleanups.push(() => openai.close());
    const discord = opts.discord ? await startFakeDiscord() : (null as unknown as FakeDiscord);
    if (opts.discord) cleanups.push(() => discord.close());

    const env: Record<string, string> = {
      SLACK_BOT_TOKEN: SECRETS.slackBotToken,
      SLACK_SIGNING_SECRET: SECRETS.slackSigningSecret,
      SLACK_API_URL: slack.apiUrl,
      SLACK_ADMINS: SLACK_USERS.admin.id,
      OPENAI_API_KEY: SECRETS.openaiApiKey,
      OPENAI_BASE_URL: openaiUrl,
      AIDE_CODE_MODEL: "code-model",
      AIDE_REVIEW_MODEL: "review-model",
      AIDE_CODER: opts.openai ? "openai" : "offline",
      ...(opts.discord ? { DISCORD_TOKEN: discord.token } : {}),
    };
    const base = {
      data: { allowPrivateHosts: false, allowedAddresses: ["127.0.0.1"], downloadTimeoutSec: 20 },
      chat: { notifyIntervalSec: 0 },
      execution: { timeoutSec: 60, memoryMb: 1024 },
      openai: { maxRetries: 1, timeoutSec: 20 },
      services: { dataDir },
      log: { level: opts.logLevel ?? "debug" },
      ...(opts.discord
        ? {
            discord: {
              apiUrl: discord.rest.api,
              applicationId: discord.applicationId,
              admins: [],
              adminPermissions: ["ManageGuild"],
            },
          }
        : {}),
    };
    const config = loadConfig({ env, overrides: merge(base, opts.overrides ?? {}) });

    const redis = redisServer.client();
    const queue: RunQueue = createRunQueue(bullConnection(redisServer.url));
    cleanups.push(() => queue.close());
    const runs = new RunService({ store, redis, enqueue: async (id) => void (await enqueueRun(queue, id)), logger });

    const slackBot = await startSlackBot({
      config,
      logger,
      runs,
      store,
      redis: redisServer.client(),
      port: 0,
      consumerName: "rel-slack",
      bridge: { blockMs: 200, claimIdleMs: 5000 },
    });
    cleanups.push(() => slackBot.stop());
    const sender = new SlackSender(
      `http://127.0.0.1:${slackBot.port}${slackBot.eventsPath}`,
      SECRETS.slackSigningSecret,
      slack.teamId,
    );

    let discordBot = null as unknown as DiscordBot;
    if (opts.discord) {
      discordBot = new DiscordBot({
        config,
        runs,
        store,
        redis: redisServer.client(),
        logger,
        token: discord.token,
        consumerName: "rel-discord",
        editIntervalMs: 300,
        delivery: { limits: { editsPerChannel: { max: 5, perMs: 1000 } } },
        bridgeBlockMs: 200,
      });
      await discordBot.start();
      cleanups.push(() => discordBot.stop());
    }

    let executor: Executor | null = null;
    if (opts.runner) {
      executor =
        opts.runner.executor === "docker"
          ? await selectExecutor("docker", { dockerImage: config.execution.dockerImage, cpus: 1, logger })
          : await selectExecutor("sandbox", { logger });
      const runner = new Runner({
        config,
        store,
        redisUrl: redisServer.url,
        dataDir,
        executor,
        logger,
        concurrency: opts.runner.concurrency ?? 2,
        lockDurationMs: 10_000,
        stalledIntervalMs: 5000,
      });
      runner.start();
      cleanups.push(() => runner.close());
    }

    world = {
      dir,
      config,
      logger,
      logFile,
      store,
      redis,
      redisUrl: redisServer.url,
      runs,
      slack,
      sender,
      slackBot,
      discord,
      discordBot,
      openai,
      files,
      executor,
      dataDir,
      dataUrl: files.url("/loan-default.tar.gz"),
      async logText() {
        await new Promise<void>((resolve) => logger.flush(() => resolve()));
        return readFileSync(logFile, "utf8");
      },
      async events(runId) {
        return (await readEvents(redis, runId, undefined, 10_000)).map((e) => e.event);
      },
      async waitForEnd(runId, timeoutMs) {
        return until(
          async () => {
            const r = await store.requireRun(runId);
            return ["finished", "stopped", "failed"].includes(r.status) ? r : null;
          },
          timeoutMs,
          `run ${runId} to end`,
        );
      },
      async runIn(platform, channel, timeoutMs = 10_000) {
        return until(
          async () => (await store.listRuns({ platform, channel, limit: 1 }))[0],
          timeoutMs,
          `a run in ${platform} channel ${channel}`,
        );
      },
    };
  }, 120_000);

  afterAll(async () => {
    // Stop in reverse order of start: runner and bots before the services they use.
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }, 60_000);

  return new Proxy({} as ChatWorld, {
    get(_t, key) {
      if (!world) throw new Error("the chat world is not started yet (use it inside tests or hooks)");
      return world[key as keyof ChatWorld];
    },
  });
}
