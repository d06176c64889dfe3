/**
 * SlackSurface: the ChatSurface of Slack. It only renders (blocks.ts) and makes the Web API calls; ordering,
 * pacing, edit coalescing and retries are the shared delivery's (src/runs/chat/delivery.ts), with Slack's limits
 * (`SLACK_PACING`) and Slack's errors translated by `slackFailure` (client.ts):
 * - post: chat.postMessage (thread_ts for thread replies), then the message's files with filesUploadV2 into the
 *   same thread, queued per channel so a thread reads in the order messages were posted.
 * - edit: chat.update, coalesced per message (latest content wins, one edit a second).
 * - openThread: a Slack thread is its root message's ts.
 * - ephemeral: chat.postEphemeral (in the thread when there is one).
 * What still fails after the retries is a DeliveryError, so the caller (the bridge) can keep the event and
 * deliver it later.
 */
import type { webApi } from "@slack/bolt";
import type { Logger } from "../../src/logger.ts";
import {
  tunedDelivery,
  type Delivery,
  type DeliveryLimits,
  type DeliveryTuning,
} from "../../src/runs/chat/delivery.ts";
import type { ChatFile, ChatMessage, ChatSurface, MessageRef, ThreadRef } from "../../src/runs/chat/types.ts";
import { renderMessage } from "./blocks.ts";
import { describeSlackError, slackFailure } from "./client.ts";

/**
 * Slack's limits as the surface keeps them: chat.update about once a second per message; chat.postMessage about
 * one message a second per channel, short bursts allowed (https://api.slack.com/methods/chat.postMessage#rate_limiting).
 */
export const SLACK_PACING: DeliveryLimits = { editIntervalMs: 1000, postsPerChannel: { max: 10, perMs: 10_000 } };

/** The client and logger; the delivery's limits and retry policy default to SLACK_PACING and DEFAULT_RETRY. */
export interface SlackSurfaceOptions extends DeliveryTuning {
  client: webApi.WebClient;
  logger: Logger;
}

export class SlackSurface implements ChatSurface {
  readonly platform = "slack" as const;
  private readonly client: webApi.WebClient;
  private readonly logger: Logger;
  private readonly delivery: Delivery;

  constructor(opts: SlackSurfaceOptions) {
    this.client = opts.client;
    this.logger = opts.logger.child({ component: "slack-surface" });
    this.delivery = tunedDelivery(
      { platform: "Slack", logger: opts.logger, classify: slackFailure, limits: SLACK_PACING },
      opts,
    );
  }

  post(where: ThreadRef, message: ChatMessage): Promise<MessageRef> {
    const rendered = renderMessage(message);
    return this.delivery.inOrder(where.channel, async () => {
      const res = await this.delivery.send(
        "message",
        () =>
          this.client.chat.postMessage({
            channel: where.channel,
            text: rendered.text,
            blocks: rendered.blocks as never,
            ...(where.thread ? { thread_ts: where.thread } : {}),
            unfurl_links: false,
            unfurl_media: false,
          }),
        where.channel,
      );
      if (!res.ts) throw new Error("chat.postMessage answered without a ts");
      const thread = where.thread ?? res.ts;
      if (message.files?.length) await this.uploadOrReport(where.channel, thread, message.files);
      return { platform: "slack", channel: where.channel, messageId: res.ts, thread };
    });
  }

  edit(ref: MessageRef, message: ChatMessage): Promise<void> {
    const rendered = renderMessage(message);
    return this.delivery.edit(ref.channel, ref.messageId, async () => {
      await this.client.chat.update({
        channel: ref.channel,
        ts: ref.messageId,
        text: rendered.text,
        blocks: rendered.blocks as never,
      });
    });
  }

  async openThread(ref: MessageRef, _name: string): Promise<string> {
    // A Slack thread needs nothing created: replies name the root message's ts.
    return ref.thread ?? ref.messageId;
  }

  async ephemeral(where: ThreadRef, userId: string, message: ChatMessage): Promise<void> {
    const rendered = renderMessage(message);
    await this.delivery.send("ephemeral message", () =>
      this.client.chat.postEphemeral({
        channel: where.channel,
        user: userId,
        text: rendered.text,
        blocks: rendered.blocks as never,
        ...(where.thread ? { thread_ts: where.thread } : {}),
      }),
    );
  }

  /** Uploads files into a thread (one filesUploadV2 call for all of them). Queued with the channel's posts. */
  upload(where: ThreadRef & { thread: string }, files: ChatFile[]): Promise<void> {
    return this.delivery.inOrder(where.channel, () => this.uploadFiles(where.channel, where.thread, files));
  }

  /** Sends pending edits (in their interval) and waits for queued posts. */
  flush(): Promise<void> {
    return this.delivery.flush();
  }

  /** Sends what is parked at once, then refuses further calls. */
  close(): Promise<void> {
    return this.delivery.close();
  }

  private async uploadFiles(channel: string, thread: string, files: ChatFile[]): Promise<void> {
    await this.delivery.send(
      "file upload",
      () =>
        this.client.filesUploadV2({
          channel_id: channel,
          thread_ts: thread,
          file_uploads: files.map((f) => ({ file: f.content, filename: f.name, title: f.title ?? f.name })),
        }),
      channel,
    );
  }

  /**
   * The message itself is posted; its files follow. Rethrowing here would make the caller post the message again,
   * so a failed upload is logged and said in the thread instead.
   */
  private async uploadOrReport(channel: string, thread: string, files: ChatFile[]): Promise<void> {
    try {
      await this.uploadFiles(channel, thread, files);
    } catch (err) {
      const names = files.map((f) => f.name).join(", ");
      this.logger.error({ channel, thread, files: names, err }, "slack: uploading files failed");
      await this.delivery
        .send(
          "message",
          () =>
            this.client.chat.postMessage({
              channel,
              thread_ts: thread,
              text: `Could not attach ${names}: Slack refused the upload. The files are kept with the run (\`aide export\`).`,
            }),
          channel,
        )
        .catch((e: unknown) =>
          this.logger.error(
            { channel, thread, reason: describeSlackError(e) },
            "slack: could not report the failed upload",
          ),
        );
    }
  }
}
