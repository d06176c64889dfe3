/**
 * DiscordSurface: the platform-neutral ChatSurface on Discord's REST API, with the bot token. Every post and
 * edit goes through channel endpoints (never the 15-minute interaction webhook), so a run that lasts hours keeps
 * posting; only `ephemeral` answers through the interaction at hand, while its token is fresh.
 *
 * Ordering, pacing, edit coalescing and retries are the shared delivery's (src/runs/chat/delivery.ts), with
 * Discord's limits (`DISCORD_PACING`) and Discord's errors translated by `discordFailure` (rest.ts).
 *
 * - post: renders (render.ts) into one or more messages (2000-character chunks, embeds within limits, files within
 *   the upload size) and posts them in order, queued per channel (chunks of two posts never interleave); the
 *   reference is to the first. Each chunk is retried on its own, so a failure never posts earlier chunks twice.
 * - edit: coalesced per message (latest content wins), at most one a second per message and 5 per 5 s per channel.
 * - openThread: starts a public thread on the message (`POST /channels/{c}/messages/{m}/threads`).
 * - archived threads: a post refused because the thread is archived unarchives it (`PATCH /channels/{id}`) and
 *   posts again; when that is not allowed (or the thread is gone) the post goes to the parent channel with a note.
 * - rate limits: @discordjs/rest still paces each bucket from the X-RateLimit headers; a 429 on these routes is
 *   handed back (discordRestOptions, rest.ts) and retried by the delivery after its `retry-after`.
 */
import {
  DiscordAPIError,
  MessageFlags,
  Routes,
  type APIThreadChannel,
  type REST,
  type RESTPostAPIChannelMessageJSONBody,
  type RESTPostAPIChannelMessageResult,
  type RawFile,
} from "discord.js";
import type { Logger } from "../../src/logger.ts";
import {
  tunedDelivery,
  type Delivery,
  type DeliveryLimits,
  type DeliveryTuning,
} from "../../src/runs/chat/delivery.ts";
import type { ChatMessage, ChatSurface, MessageRef, ThreadRef } from "../../src/runs/chat/types.ts";
import { currentInteraction, type InteractionScope } from "./interaction-context.ts";
import { DISCORD_LIMITS } from "./limits.ts";
import { renderMessage, renderSingle, type DiscordPayload, type RenderOptions } from "./render.ts";
import { discordFailure } from "./rest.ts";
import { clip } from "./split.ts";

/** Discord JSON error codes this surface reacts to. */
export const DISCORD_ERRORS = {
  unknownChannel: 10003,
  unknownMessage: 10008,
  missingAccess: 50001,
  missingPermissions: 50013,
  threadArchived: 50083,
  threadLocked: 160005,
} as const;

/** Discord's limits as the surface keeps them: one edit a second per message, 5 edits per 5 s per channel. */
export const DISCORD_PACING: DeliveryLimits = { editIntervalMs: 1000, editsPerChannel: { max: 5, perMs: 5000 } };

/** The delivery's limits and retry policy default to DISCORD_PACING and DEFAULT_RETRY. */
export interface DiscordSurfaceOptions extends DeliveryTuning {
  /** The bot's REST client (discord.js `client.rest`: shares its rate-limit buckets; see discordRestOptions). */
  rest: REST;
  logger: Logger;
  /** Largest upload of one message, in bytes (default 10 MiB, Discord's limit without boosts). */
  maxUploadBytes?: number;
  /** Auto-archive of threads the bot opens, in minutes (60, 1440, 4320 or 10080). */
  threadArchiveMinutes?: 60 | 1440 | 4320 | 10080;
}

function errorCode(err: unknown): number | string | null {
  return err instanceof DiscordAPIError ? err.code : null;
}

/** The REST body and files of a payload. */
export function toRestBody(p: DiscordPayload): { body: RESTPostAPIChannelMessageJSONBody; files?: RawFile[] } {
  const body: RESTPostAPIChannelMessageJSONBody = {
    content: p.content,
    embeds: p.embeds,
    components: p.components,
    allowed_mentions: p.allowedMentions,
  };
  if (p.files.length === 0) return { body };
  body.attachments = p.files.map((f, i) => ({
    id: String(i),
    filename: f.name,
    ...(f.title ? { description: clip(f.title, 1024) } : {}),
  }));
  return { body, files: p.files.map((f) => ({ name: f.name, data: f.content, contentType: f.mime })) };
}

/** The options of a discord.js interaction reply for a payload. */
export function toInteractionOptions(p: DiscordPayload) {
  return {
    content: p.content || undefined,
    embeds: p.embeds,
    components: p.components,
    allowedMentions: { parse: [], users: p.allowedMentions.users ?? [] },
    files: p.files.map((f) => ({
      attachment: f.content,
      name: f.name,
      ...(f.title ? { description: clip(f.title, 1024) } : {}),
    })),
  };
}

export class DiscordSurface implements ChatSurface {
  readonly platform = "discord" as const;
  private readonly rest: REST;
  private readonly logger: Logger;
  private readonly delivery: Delivery;
  private readonly render: RenderOptions;
  private readonly archiveMinutes: number;
  /** Where each message we posted lives (the thread it was posted in, or the channel). */
  private readonly located = new Map<string, string>();

  constructor(options: DiscordSurfaceOptions) {
    this.rest = options.rest;
    this.logger = options.logger;
    this.delivery = tunedDelivery(
      { platform: "Discord", logger: options.logger, classify: discordFailure, limits: DISCORD_PACING },
      options,
    );
    this.render = { maxUploadBytes: options.maxUploadBytes ?? DISCORD_LIMITS.uploadBytes };
    this.archiveMinutes = options.threadArchiveMinutes ?? 4320;
  }

  post(where: ThreadRef, message: ChatMessage): Promise<MessageRef> {
    const payloads = renderMessage(message, this.render);
    return this.delivery.inOrder(where.thread ?? where.channel, async () => {
      let first: string | null = null;
      // After a fall-back to the parent channel, the rest of the message follows it there.
      let target = where.thread ?? where.channel;
      for (const payload of payloads) {
        const from = target;
        const sent = await this.delivery.send("message", () => this.send(from, payload, where), from);
        target = sent.channelId;
        first ??= sent.id;
      }
      return { platform: "discord", channel: where.channel, messageId: first!, thread: where.thread };
    });
  }

  /** Edits a message through the delivery: awaited when it can go out now, else parked (the latest content wins). */
  edit(ref: MessageRef, message: ChatMessage): Promise<void> {
    const channelId = this.channelOf(ref);
    return this.delivery.edit(channelId, ref.messageId, () => this.patch(channelId, ref.messageId, message));
  }

  async openThread(ref: MessageRef, name: string): Promise<string> {
    const channelId = this.channelOf({ ...ref, thread: null });
    const body = {
      name: clip(name.replace(/\s+/g, " ").trim() || "AIDE run", DISCORD_LIMITS.threadName),
      auto_archive_duration: this.archiveMinutes,
    };
    const thread = (await this.delivery.send("thread", () =>
      this.rest.post(Routes.threads(channelId, ref.messageId), { body }),
    )) as APIThreadChannel;
    return thread.id;
  }

  async ephemeral(where: ThreadRef, userId: string, message: ChatMessage): Promise<void> {
    const scope = currentInteraction();
    if (
      scope &&
      scope.userId === userId &&
      Date.now() - scope.receivedAt < DISCORD_LIMITS.interactionTokenMs - 60_000
    ) {
      await this.replyEphemeral(scope, message);
      return;
    }
    // No interaction to answer privately: a normal reply that mentions the person.
    const mentions = [...new Set([userId, ...(message.mentions ?? [])])];
    await this.post(where, { ...message, mentions });
  }

  /** Waits for queued posts and parked edits (in their interval). */
  flush(): Promise<void> {
    return this.delivery.flush();
  }

  /** Sends remaining coalesced edits at once, then refuses new calls. */
  close(): Promise<void> {
    return this.delivery.close();
  }

  /** Answers in the interaction at hand: fills the deferred ephemeral reply, or sends ephemeral follow-ups. */
  async replyEphemeral(scope: InteractionScope, message: ChatMessage): Promise<void> {
    const payloads = renderMessage(message, this.render);
    for (const p of payloads) {
      const options = toInteractionOptions(p);
      if (scope.deferredEphemeral && !scope.replied) {
        await this.delivery.send("ephemeral reply", () => scope.interaction.editReply(options));
        scope.replied = true;
      } else {
        await this.delivery.send("ephemeral reply", () =>
          scope.interaction.followUp({ ...options, flags: MessageFlags.Ephemeral }),
        );
      }
    }
    scope.ephemeralCount++;
  }

  private channelOf(ref: MessageRef): string {
    const known = this.located.get(ref.messageId);
    if (known) return known;
    // A thread started from a message has the message's id; such a message lives in the parent channel.
    if (ref.thread && ref.thread !== ref.messageId) return ref.thread;
    return ref.channel;
  }

  private async patch(channelId: string, messageId: string, message: ChatMessage): Promise<void> {
    const { body, files } = toRestBody(renderSingle(message, this.render));
    await this.withUnarchive(channelId, () =>
      this.rest.patch(Routes.channelMessage(channelId, messageId), { body, ...(files ? { files } : {}) }),
    );
  }

  /** Runs a request against a thread, unarchiving it once if Discord says it is archived. */
  private async withUnarchive<T>(channelId: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      if (errorCode(err) !== DISCORD_ERRORS.threadArchived) throw err;
      await this.rest.patch(Routes.channel(channelId), { body: { archived: false } });
      this.logger.info({ channelId }, "discord: unarchived a run thread to post in it");
      return await request();
    }
  }

  /** Posts one payload in `channelId`; for a thread that cannot take it, in the parent channel with a note. */
  private async send(
    channelId: string,
    payload: DiscordPayload,
    where: ThreadRef,
  ): Promise<{ id: string; channelId: string }> {
    const post = async (channel: string, p: DiscordPayload) => {
      const { body, files } = toRestBody(p);
      const res = (await this.rest.post(Routes.channelMessages(channel), {
        body,
        ...(files ? { files } : {}),
      })) as RESTPostAPIChannelMessageResult;
      this.located.set(res.id, channel);
      if (this.located.size > 10_000) this.located.delete(this.located.keys().next().value!);
      return { id: res.id, channelId: channel };
    };
    try {
      return await this.withUnarchive(channelId, () => post(channelId, payload));
    } catch (err) {
      const code = errorCode(err);
      const threadGone =
        where.thread &&
        channelId === where.thread &&
        (
          [
            DISCORD_ERRORS.threadArchived,
            DISCORD_ERRORS.threadLocked,
            DISCORD_ERRORS.unknownChannel,
            DISCORD_ERRORS.missingPermissions,
            DISCORD_ERRORS.missingAccess,
          ] as Array<number | string | null>
        ).includes(code);
      if (!threadGone) throw err;
      this.logger.warn(
        { code, thread: where.thread },
        "discord: run thread unavailable; posting in the parent channel",
      );
      const text = `-# Posted here because the run's thread <#${where.thread}> is archived or unavailable.`;
      const content = [text, payload.content].filter(Boolean).join("\n");
      const moved: DiscordPayload = {
        ...payload,
        content: content.length <= DISCORD_LIMITS.content ? content : payload.content,
      };
      return post(where.channel, moved);
    }
  }
}
