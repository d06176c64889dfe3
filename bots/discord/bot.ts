/**
 * The Discord bot assembled: the discord.js client (client.ts), the surface on its REST client (surface.ts),
 * the platform-neutral ChatController (requests) and ChatBridge (run events -> card edits and thread posts), as a
 * ChatBot: `aide discord` and the e2e tests build it and `start()` it the same way.
 */
import { hostname } from "node:os";
import type { Client } from "discord.js";
import type { Redis } from "ioredis";
import type { Config } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { ChatBridge } from "../../src/runs/chat/bridge.ts";
import { ChatController } from "../../src/runs/chat/controller.ts";
import type { DeliveryTuning } from "../../src/runs/chat/delivery.ts";
import type { ChatBot } from "../../src/runs/chat/types.ts";
import type { RunService } from "../../src/runs/service.ts";
import type { Store } from "../../src/store/store.ts";
import { attachHandlers, createDiscordClient, loginAndWait } from "./client.ts";
import { DiscordSurface } from "./surface.ts";
import { adminPolicy, unknownPermissions } from "./translate.ts";

export interface DiscordBotOptions {
  config: Config;
  runs: RunService;
  store: Store;
  /** For the bridge (its consumer opens a blocking connection of its own). */
  redis: Redis;
  logger: Logger;
  /** Bot token; default config.discord.token (DISCORD_TOKEN). */
  token?: string;
  /** The privileged MessageContent intent: plain thread replies steer. */
  messageContent?: boolean;
  /** Unique per bot process; default host name + pid. */
  consumerName?: string;
  /** Surface tuning (tests use shorter intervals). */
  editIntervalMs?: number;
  maxUploadBytes?: number;
  /** Delivery tuning: limits, retry policy. */
  delivery?: DeliveryTuning;
  /** Bridge tuning (tests). */
  bridgeBlockMs?: number;
}

export class DiscordBot implements ChatBot {
  readonly platform = "discord" as const;
  readonly client: Client;
  readonly surface: DiscordSurface;
  readonly controller: ChatController;
  readonly bridge: ChatBridge;
  private readonly token: string;
  private detach: (() => void) | null = null;

  constructor(private readonly opts: DiscordBotOptions) {
    const token = opts.token ?? opts.config.discord.token;
    if (!token)
      throw new UsageError(
        "Set DISCORD_TOKEN to the bot token of your Discord application (Developer Portal > Bot > Reset Token).",
      );
    this.token = token;
    const messageContent = opts.messageContent ?? false;
    this.client = createDiscordClient({ apiUrl: opts.config.discord.apiUrl || undefined, messageContent });
    this.surface = new DiscordSurface({
      ...opts.delivery,
      rest: this.client.rest,
      logger: opts.logger,
      ...(opts.editIntervalMs !== undefined ? { editIntervalMs: opts.editIntervalMs } : {}),
      ...(opts.maxUploadBytes !== undefined ? { maxUploadBytes: opts.maxUploadBytes } : {}),
    });
    this.controller = new ChatController({
      runs: opts.runs,
      store: opts.store,
      surface: this.surface,
      logger: opts.logger,
      config: opts.config,
    });
    this.bridge = new ChatBridge({
      redis: opts.redis,
      store: opts.store,
      surface: this.surface,
      logger: opts.logger,
      config: opts.config,
      consumerName: opts.consumerName ?? `discord-${hostname()}-${process.pid}`,
      ...(opts.bridgeBlockMs !== undefined ? { blockMs: opts.bridgeBlockMs } : {}),
    });
    const policy = adminPolicy(opts.config);
    const unknown = unknownPermissions(policy);
    if (unknown.length)
      opts.logger.warn(
        { unknown },
        "discord.adminPermissions names permissions discord.js does not know; they are ignored",
      );
    this.detach = attachHandlers(this.client, {
      controller: this.controller,
      surface: this.surface,
      policy,
      messageContent,
      logger: opts.logger,
    });
  }

  /** Connects to the gateway, waits until ready, then starts posting run events. */
  async start(): Promise<void> {
    await loginAndWait(this.client, this.token, 30_000, this.opts.config.discord.apiUrl || undefined);
    await this.bridge.start();
    this.opts.logger.info({ user: this.client.user?.tag, guilds: this.client.guilds.cache.size }, "discord bot ready");
  }

  async stop(): Promise<void> {
    await this.bridge.stop();
    await this.surface.close();
    this.detach?.();
    this.detach = null;
    await this.client.destroy();
  }
}
