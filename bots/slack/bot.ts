/**
 * The Slack bot assembled: Bolt app (app.ts) + SlackSurface + the platform-neutral ChatController (requests) and
 * ChatBridge (run events -> card edits and thread posts). `aide slack` and the end-to-end tests both start it
 * through `startSlackBot`, on services (RunService, Store, Redis) opened by the caller.
 */
import { hostname } from "node:os";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type { App, webApi } from "@slack/bolt";
import type { Redis } from "ioredis";
import type { Config } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { ChatBridge } from "../../src/runs/chat/bridge.ts";
import { ChatController } from "../../src/runs/chat/controller.ts";
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
  /** Web API retry policy instead of client.ts's SLACK_RETRY_POLICY. */
  retryConfig?: webApi.RetryOptions;
  editIntervalMs?: number;
}

export interface SlackBot {
  app: App;
  surface: SlackSurface;
  controller: ChatController;
  bridge: ChatBridge;
  mode: SlackMode["kind"];
  /** HTTP mode: the port listening, and the URL Slack must post to (behind your public host). */
  port: number | null;
  eventsPath: string;
  stop(): Promise<void>;
}

export async function startSlackBot(opts: SlackBotOptions): Promise<SlackBot> {
  const { config, logger, store, redis } = opts;
  const { botToken, mode } = slackModeFrom(config, opts.port);
  await verifySlackToken(botToken, { apiUrl: config.slack.apiUrl, logger });
  const app = createSlackApp({ botToken, mode, apiUrl: config.slack.apiUrl, logger, retryConfig: opts.retryConfig });
  const surface = new SlackSurface({ client: app.client, logger, editIntervalMs: opts.editIntervalMs });
  const controller = new ChatController({ runs: opts.runs, store, surface, logger, config });
  registerSlackHandlers(app, {
    handle: (req) => controller.handle(req),
    surface,
    users: new SlackUsers(app.client, config.slack.admins, logger),
    dedupe: new RedisDedupe(redis, logger),
    isRunThread: async (channel, thread) => (await store.findRunByThread("slack", channel, thread)) !== null,
    logger,
  });
  const bridge = new ChatBridge({
    redis,
    store,
    surface,
    logger,
    config,
    consumerName: opts.consumerName ?? `slack-${hostname()}-${process.pid}`,
    blockMs: opts.bridge?.blockMs,
    claimIdleMs: opts.bridge?.claimIdleMs,
  });
  await bridge.start();
  let port: number | null = null;
  try {
    // Bolt's own token check runs here (deferred), so its failure is an error of this call, not an unhandled one.
    await app.init();
    if (mode.kind === "http") {
      const server = (await app.start(mode.port)) as Server;
      port = (server.address() as AddressInfo).port;
    } else {
      await app.start();
    }
  } catch (err) {
    await bridge.stop();
    throw err;
  }
  logger.info({ mode: mode.kind, port }, "slack bot started");
  return {
    app,
    surface,
    controller,
    bridge,
    mode: mode.kind,
    port,
    eventsPath: SLACK_EVENTS_PATH,
    async stop() {
      await app.stop().catch((err: unknown) => logger.warn({ err }, "slack: stopping the receiver failed"));
      await bridge.stop();
      await surface.close();
    },
  };
}
