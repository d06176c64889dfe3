/**
 * The Slack bot assembled: Bolt app (app.ts) + SlackSurface + the platform-neutral ChatController (requests) and
 * ChatBridge (run events -> card edits and thread posts), as a ChatBot: `aide slack` and the end-to-end tests
 * build it and `start()` it on services (RunService, Store, Redis) opened by the caller.
 */
import { hostname } from "node:os";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { App } from "@slack/bolt";
import type { Redis } from "ioredis";
import type { Config } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { ChatBridge } from "../../src/runs/chat/bridge.ts";
import { ChatController } from "../../src/runs/chat/controller.ts";
import type { DeliveryTuning } from "../../src/runs/chat/delivery.ts";
import type { ChatBot } from "../../src/runs/chat/types.ts";
import type { RunService } from "../../src/runs/service.ts";
import type { Store } from "../../src/store/index.ts";
import { createSlackApp, registerSlackHandlers, SLACK_EVENTS_PATH, type SlackMode } from "./app.ts";
import { verifySlackToken } from "./client.ts";
import { RedisDedupe } from "./dedupe.ts";
import { SlackSurface } from "./surface.ts";
import { SlackUsers } from "./users.ts";

export const MISSING_TOKENS =
  "Slack needs SLACK_BOT_TOKEN and either SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode); see bots/slack/README.md.";

/** Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode (needs SLACK_SIGNING_SECRET). Throws one clear line. */
export function slackModeFrom(config: Config, portOverride?: number): { botToken: string; mode: SlackMode } {
  const { botToken, appToken, signingSecret } = config.slack;
  if (!botToken) throw new UsageError(MISSING_TOKENS);
  if (appToken) return { botToken, mode: { kind: "socket", appToken } };
  if (!signingSecret) throw new UsageError(MISSING_TOKENS);
  return { botToken, mode: { kind: "http", signingSecret, port: portOverride ?? config.slack.port } };
}

export interface SlackBotOptions {
  config: Config;
  logger: Logger;
  runs: RunService;
  store: Store;
  redis: Redis;
  /** HTTP port instead of config.slack.port (0: any free port). */
  port?: number;
  /** Unique per bot process; default host name + pid. */
  consumerName?: string;
  /** Bridge tuning (tests read the event stream with shorter blocks). */
  bridge?: { blockMs?: number; claimIdleMs?: number };
  /** Delivery tuning: edit interval, limits, retry policy (tests use shorter waits). */
  delivery?: DeliveryTuning;
}

export class SlackBot implements ChatBot {
  readonly platform = "slack" as const;
  readonly app: App;
  readonly surface: SlackSurface;
  readonly controller: ChatController;
  readonly bridge: ChatBridge;
  readonly mode: SlackMode["kind"];
  /** HTTP mode, once started: the port listening (Slack posts to your public host's SLACK_EVENTS_PATH). */
  port: number | null = null;
  readonly eventsPath = SLACK_EVENTS_PATH;
  private readonly botToken: string;
  private readonly slackMode: SlackMode;

  /** Builds the bot; a missing token is one clear UsageError here, before anything connects. */
  constructor(private readonly opts: SlackBotOptions) {
    const { config, logger, store, redis } = opts;
    const { botToken, mode } = slackModeFrom(config, opts.port);
    this.botToken = botToken;
    this.slackMode = mode;
    this.mode = mode.kind;
    this.app = createSlackApp({ botToken, mode, apiUrl: config.slack.apiUrl, logger });
    this.surface = new SlackSurface({ ...opts.delivery, client: this.app.client, logger });
    this.controller = new ChatController({ runs: opts.runs, store, surface: this.surface, logger, config });
    registerSlackHandlers(this.app, {
      handle: (req) => this.controller.handle(req),
      surface: this.surface,
      users: new SlackUsers(this.app.client, config.slack.admins, logger),
      dedupe: new RedisDedupe(redis, logger),
      isRunThread: async (channel, thread) => (await store.findRunByThread("slack", channel, thread)) !== null,
      logger,
    });
    this.bridge = new ChatBridge({
      redis,
      store,
      surface: this.surface,
      logger,
      config,
      consumerName: opts.consumerName ?? `slack-${hostname()}-${process.pid}`,
      blockMs: opts.bridge?.blockMs,
      claimIdleMs: opts.bridge?.claimIdleMs,
    });
  }

  /** Checks the token, starts the bridge and the receiver (HTTP server or Socket Mode). */
  async start(): Promise<void> {
    const { config, logger } = this.opts;
    await verifySlackToken(this.botToken, { apiUrl: config.slack.apiUrl, logger });
    await this.bridge.start();
    try {
      // Bolt's own token check runs here (deferred), so its failure is an error of this call, not an unhandled one.
      await this.app.init();
      if (this.slackMode.kind === "http") {
        const server = (await this.app.start(this.slackMode.port)) as Server;
        this.port = (server.address() as AddressInfo).port;
      } else {
        await this.app.start();
      }
    } catch (err) {
      await this.bridge.stop();
      throw err;
    }
    logger.info({ mode: this.mode, port: this.port }, "slack bot started");
  }

  async stop(): Promise<void> {
    await this.app
      .stop()
      .catch((err: unknown) => this.opts.logger.warn({ err }, "slack: stopping the receiver failed"));
    await this.bridge.stop();
    await this.surface.close();
  }
}

/** Builds and starts a Slack bot (tests and tools; `aide slack` does the same through ChatBot). */
export async function startSlackBot(opts: SlackBotOptions): Promise<SlackBot> {
  const bot = new SlackBot(opts);
  await bot.start();
  return bot;
}
